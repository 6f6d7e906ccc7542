package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	binDir   string // removed by TestMain
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "microvm-cli-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// binary builds cmd/microvm-api once for the tests that run it.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		name := "microvm-api"
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		binPath = filepath.Join(binDir, name)
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/velocitty/microvm/cmd/microvm-api").CombinedOutput()
		if err != nil {
			binError = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

// runBinary runs the built program with args and returns what it printed
// and its exit status.
func runBinary(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: cmd.ProcessState.ExitCode()}
}

func TestBinary(t *testing.T) {
	d := startDaemon(t)
	run := func(stdin string, args ...string) result {
		return runBinary(t, stdin, append([]string{"--data-dir", d.dir}, args...)...)
	}
	check(t, run("", "vm", "create", "work"), 0, "VM work created", "")
	check(t, run("", "vm", "start", "work"), 0, "VM work started (running)", "starting VM work")
	check(t, run("", "vm", "ls"), 0, "work     linux    running", "")
	check(t, run("", "vm", "exec", "--vm", "work", "--", "echo", "hello"), 0, "hello\n", "")
	check(t, run("", "vm", "exec", "--vm", "work", "--", "false"), 1, "", "")
	check(t, run("", "vm", "exec", "--vm", "work", "--", "nosuch"), 127, "", "nosuch: not found")
	check(t, run("in\n", "vm", "exec", "--vm", "work", "--stdin", "--", "cat"), 0, "in\n", "")
	check(t, run("", "vm", "create", "work"), 1, "", "(already_exists)")
	check(t, run("", "vm", "frobnicate"), 2, "", "unknown command \"frobnicate\"")
	check(t, run("", "vm", "start", "--help"), 0, "usage: microvm-api vm start [flags] [VM]", "")
	check(t, runBinary(t, "", "--data-dir", t.TempDir(), "vm", "ls"), 3, "", "is the daemon running?")
	check(t, runBinary(t, "", "version"), 0, "microvm-api ", "")
	check(t, runBinary(t, ""), 2, "", "usage: microvm-api COMMAND")
}

// TestEventsInterrupt checks that Ctrl-C ends events with success.
func TestEventsInterrupt(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no interrupt signal to send on Windows")
	}
	d := startDaemon(t)
	out := newSyncBuffer()
	cmd := exec.CommandContext(t.Context(), binary(t), "--data-dir", d.dir, "events")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	check(t, d.cli(t, "", "vm", "create", "work"), 0, "", "")
	out.waitFor(t, "vm.created  work")
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("events after Ctrl-C: %v; output:\n%s", err, out)
	}
}
