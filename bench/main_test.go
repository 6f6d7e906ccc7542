//go:build bench && linux

// Package bench measures microvm end to end and writes the benchmark
// report: `make bench` runs TestReport, which starts the real daemon with a
// real guest, a local HTTP origin, microsocks as the peer proxy and an
// OpenVPN server in a namespace, and compares ours with the direct path,
// the peer and bare tools in interleaved rounds of one run.
//
// Knobs (environment):
//
//	MICROVM_BENCH_BIN=dir      microvm-api and the guest image (`make build guest-image`)
//	MICROVM_BENCH_OUT=dir      where report.md, report.json and report.svg go (default: here)
//	MICROVM_BENCH_ROUNDS=N     interleaved rounds (default 5)
//	MICROVM_BENCH_BYTES=N      bulk download size (default 1 GiB)
//	MICROVM_BENCH_ONLY=list    comma-separated sections to run, e.g. "vpn,api"
//	MICROVM_BENCH_DAEMON_ENV=s more environment for the daemon, e.g. "GODEBUG=x=1"
//
// With -short everything is small and quick, to prove the harness works.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
	"github.com/velocitty/microvm/internal/benchkit"
	"github.com/velocitty/microvm/internal/benchreport"
	"github.com/velocitty/microvm/internal/machineinfo"
)

func TestMain(m *testing.M) {
	benchkit.ServeOriginIfAsked()
	os.Exit(m.Run())
}

// knobs are the sizes of one run.
type knobs struct {
	rounds    int
	bulk      int64         // bytes per SOCKS5 download
	vpnBulk   int64         // bytes per download through the tunnel
	conns     int           // max requests per connection-rate run
	connTime  time.Duration // max time per connection-rate run
	keys      int           // keystrokes per round
	wrkTime   string        // wrk duration per round
	cycles    int           // VM start/stop and VPN connect cycles
	loadBulk  int64         // bytes per download of the 32 parallel ones
	keysWarm  int
	shortForm bool
}

func knobsFor(t *testing.T) knobs {
	k := knobs{rounds: 5, bulk: 1 << 30, vpnBulk: 256 << 20, conns: 3000, connTime: 5 * time.Second,
		keys: 1000, wrkTime: "8s", cycles: 10, loadBulk: 64 << 20, keysWarm: 100}
	if testing.Short() {
		k = knobs{rounds: 1, bulk: 32 << 20, vpnBulk: 8 << 20, conns: 100, connTime: time.Second,
			keys: 50, wrkTime: "1s", cycles: 2, loadBulk: 4 << 20, keysWarm: 10, shortForm: true}
	}
	if v, err := strconv.Atoi(os.Getenv("MICROVM_BENCH_ROUNDS")); err == nil && v > 0 {
		k.rounds = v
	}
	if v, err := strconv.ParseInt(os.Getenv("MICROVM_BENCH_BYTES"), 10, 64); err == nil && v > 0 {
		k.bulk = v
	}
	return k
}

// TestReport runs every section and writes the report.
func TestReport(t *testing.T) {
	bin := os.Getenv("MICROVM_BENCH_BIN")
	if bin == "" {
		t.Skip("MICROVM_BENCH_BIN is not set: run `make bench`")
	}
	if os.Geteuid() != 0 {
		t.Skip("the benchmark runs guests in namespaces and needs root")
	}
	k := knobsFor(t)
	rep := benchreport.Report{
		Date:    time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Machine: machineinfo.Describe(),
		Tools:   machineinfo.ToolVersions("curl", "microsocks", "openvpn", "wrk"),
		Method: []string{
			fmt.Sprintf("%d interleaved rounds: each round measures every variant once, starting one variant later than the round before, so drift and the TIME_WAIT sockets a variant leaves behind hit all of them alike.", k.rounds),
			"All traffic stays on loopback or in namespaces the run creates; the origin is a Go HTTP server in a process of its own.",
			"\"ours\" is always the real daemon and a real guest started through its API; ratios are medians over medians.",
		},
	}
	b := &bench{t: t, k: k, bin: bin}
	b.startDaemon()
	b.startVM()

	sections := []struct {
		name string
		run  func() []benchreport.Row
	}{
		{"VM lifecycle", b.lifecycle},
		// Before the SOCKS5 section, so that "idle" is a fresh agent's.
		{"Memory", b.memory},
		{"SOCKS5", b.socks},
		{"Shell", b.keystrokes},
		{"API", b.api},
		{"VPN", b.vpn},
	}
	only := strings.ToLower(os.Getenv("MICROVM_BENCH_ONLY"))
	for _, s := range sections {
		if only != "" && !slices.ContainsFunc(strings.Split(only, ","), func(w string) bool {
			return w != "" && strings.HasPrefix(strings.ToLower(s.name), strings.TrimSpace(w))
		}) {
			continue
		}
		began := time.Now()
		rows := s.run()
		t.Logf("%s: %d rows in %v", s.name, len(rows), time.Since(began).Round(time.Second))
		rep.Rows = append(rep.Rows, rows...)
	}
	write(t, rep)
}

func write(t *testing.T, rep benchreport.Report) {
	out := os.Getenv("MICROVM_BENCH_OUT")
	if out == "" {
		out = "."
	}
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"report.md":   []byte(rep.Markdown("report.svg")),
		"report.json": js,
		"report.svg":  []byte(rep.SVG()),
	} {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %s", filepath.Join(out, "report.md"))
}

// bench is one run: the daemon, its VM and what the sections share.
type bench struct {
	t       *testing.T
	k       knobs
	bin     string
	dataDir string
	daemon  *exec.Cmd
	c       *client.Client
	token   string
	vm      api.VM

	firstStart time.Duration
	originAddr string
	peer       proxy
}

const vmName = "bench"

func (b *bench) ctx() context.Context { return b.t.Context() }

func (b *bench) startDaemon() {
	t := b.t
	b.dataDir = t.TempDir()
	cmd := exec.Command(filepath.Join(b.bin, "microvm-api"), "serve", "--listen", "127.0.0.1:0", "--data-dir", b.dataDir, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), strings.Fields(os.Getenv("MICROVM_BENCH_DAEMON_ENV"))...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	b.daemon = cmd
	t.Cleanup(func() {
		if b.c != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := b.c.DeleteVM(ctx, vmName); err != nil {
				t.Errorf("delete VM: %v", err)
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Error("daemon did not stop on SIGTERM")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		var d api.Discovery
		raw, err := os.ReadFile(filepath.Join(b.dataDir, api.DiscoveryFile))
		if err == nil && json.Unmarshal(raw, &d) == nil && d.PID == cmd.Process.Pid {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("daemon exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon did not write its discovery file in 20s")
		}
	}
	c, err := client.FromDataDir(b.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(b.dataDir, api.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	b.c, b.token = c, strings.TrimSpace(string(tok))
}

func (b *bench) startVM() {
	if _, err := b.c.CreateVM(b.ctx(), vmName, "linux"); err != nil {
		b.t.Fatal(err)
	}
	began := time.Now()
	vm, err := b.c.StartVM(b.ctx(), vmName)
	if err != nil {
		b.t.Fatal(err)
	}
	b.firstStart = time.Since(began)
	b.vm = vm
}

// agentPID is the guest agent serving the VM's proxy: the process that
// listens on its SOCKS5 port.
func (b *bench) agentPID() int {
	pid, err := benchkit.ListenerPID(b.vm.SocksAddress)
	if err != nil {
		b.t.Fatal(err)
	}
	return pid
}
