//go:build e2e && linux

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestCLIShellOnTerminal runs `microvm-api shell` on a real terminal
// against the real daemon and a Linux guest: what is typed reaches the
// guest's PTY, a window resize follows, and the guest shell's exit status
// becomes the CLI's.
func TestCLIShellOnTerminal(t *testing.T) {
	bin := binDir(t)
	dataDir := t.TempDir()
	d := startDaemon(t, bin, dataDir)
	cli := filepath.Join(bin, "microvm-api")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(cli, append([]string{"--data-dir", dataDir}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("microvm-api %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("vm", "create", "e2e-cli", "--backend", "linux")
	run("vm", "start", "e2e-cli")
	t.Cleanup(func() { d.curl("POST", "/v1/vms/e2e-cli/kill", "") })
	if out := run("vm", "ls"); !strings.Contains(out, "e2e-cli") || !strings.Contains(out, "running") {
		t.Fatalf("vm ls:\n%s", out)
	}

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 91, Rows: 27}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cli, "--data-dir", dataDir, "shell", "e2e-cli")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	screen := &syncBuffer{}
	go io.Copy(screen, ptmx) // ends when the test closes ptmx

	marker := randomHex(t)
	type_ := func(s string) {
		if _, err := ptmx.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, "the guest's prompt", func() bool { return screen.Len() > 0 })
	type_("echo hello-$((6*7))-" + marker + "\r")
	waitFor(t, 10*time.Second, "the echo from the guest", func() bool { return screen.Contains("hello-42-" + marker) })
	type_("stty size\r")
	waitFor(t, 10*time.Second, "the initial size", func() bool { return screen.Contains("27 91") })

	// A window change reaches the guest's terminal.
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 120, Rows: 33}); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGWINCH)
	waitFor(t, 10*time.Second, "the resized terminal", func() bool {
		type_("stty size\r")
		time.Sleep(100 * time.Millisecond)
		return screen.Contains("33 120")
	})

	type_("exit 5\r")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 5 {
			t.Fatalf("shell exited with %v, want status 5\n%s", err, screen)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("shell did not exit\n%s", screen)
	}
	os.WriteFile(filepath.Join(artifacts(t), "terminal.txt"), screen.Bytes(), 0o644)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (s *syncBuffer) Contains(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Contains(s.b.Bytes(), []byte(sub))
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
