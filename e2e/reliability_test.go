//go:build e2e && linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velocitty/microvm/internal/machineinfo"
)

// The reliability suite (load, faults, hostile input) runs in two forms:
// `make test` gives each load test a few seconds, `make soak` sets
// MICROVM_SOAK (a duration, e.g. 10m) and writes bench/reliability.md from
// what the tests observed.

// soakFor is how long a load test keeps its load up.
func soakFor(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("MICROVM_SOAK")
	if v == "" {
		return 10 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("MICROVM_SOAK=%q is not a positive duration", v)
	}
	return d
}

// finding is one observation a reliability test made: counts, times,
// memory. They are collected into e2e/artifacts/reliability.md.
type finding struct {
	Test string `json:"test"`
	Text string `json:"text"`
}

var findings struct {
	sync.Mutex
	list   []finding
	failed map[string]bool
}

// observe logs an observation and keeps it for the reliability report.
func observe(t *testing.T, format string, args ...any) {
	t.Helper()
	text := fmt.Sprintf(format, args...)
	t.Log(text)
	findings.Lock()
	defer findings.Unlock()
	findings.list = append(findings.list, finding{Test: t.Name(), Text: text})
	if len(findings.list) == 1 {
		findings.failed = map[string]bool{}
	}
	t.Cleanup(func() {
		findings.Lock()
		defer findings.Unlock()
		if t.Failed() {
			findings.failed[t.Name()] = true
		}
	})
}

// TestMain runs the suite, then writes what the reliability tests observed.
func TestMain(m *testing.M) {
	began := time.Now()
	code := m.Run()
	if err := writeReliability(filepath.Join("artifacts", "reliability.md"), time.Since(began)); err != nil {
		fmt.Fprintln(os.Stderr, "reliability report:", err)
	}
	os.Exit(code)
}

func writeReliability(path string, took time.Duration) error {
	findings.Lock()
	defer findings.Unlock()
	if len(findings.list) == 0 {
		return nil
	}
	soak := os.Getenv("MICROVM_SOAK")
	if soak == "" {
		soak = "short form (10s per load test)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Reliability suite\n\n")
	fmt.Fprintf(&b, "What each test observed in one run of the e2e suite (`make soak` writes this file;\n")
	fmt.Fprintf(&b, "`make test` runs the same tests in their short form). Every number below comes from that run.\n\n")
	fmt.Fprintf(&b, "- Date: %s\n- Load duration: %s\n- Whole e2e run: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), soak, took.Round(time.Second))
	for _, line := range machineinfo.Describe() {
		fmt.Fprintf(&b, "- %s\n", line)
	}
	var tests []string
	byTest := map[string][]string{}
	for _, f := range findings.list {
		if _, ok := byTest[f.Test]; !ok {
			tests = append(tests, f.Test)
		}
		byTest[f.Test] = append(byTest[f.Test], f.Text)
	}
	sort.Strings(tests)
	for _, name := range tests {
		verdict := "passed"
		if findings.failed[name] {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "\n## %s (%s)\n\n", name, verdict)
		for _, text := range byTest[name] {
			fmt.Fprintf(&b, "- %s\n", text)
		}
	}
	raw, err := json.MarshalIndent(findings.list, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(strings.TrimSuffix(path, ".md")+".json", raw, 0o644); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
