//go:build linux || darwin

package cli

import (
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"syscall"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// TestShellOnTerminal runs the built program on a pseudo-terminal: keys
// must reach the guest unchanged (raw mode), window changes must be sent,
// the guest's exit status must become the program's, and the terminal
// must be restored.
func TestShellOnTerminal(t *testing.T) {
	f, url, tok := startFakeShell(t)
	bin := binary(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 90, Rows: 33}); err != nil {
		t.Fatal(err)
	}
	before, err := term.GetState(int(tty.Fd()))
	if err != nil {
		t.Fatal(err)
	}

	out := newSyncBuffer()
	var readDone = make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	// The reader ends when no process holds the terminal open any more;
	// cleanups run after the context that kills the program ended.
	t.Cleanup(func() {
		tty.Close()
		<-readDone
		ptmx.Close()
	})

	cmd := exec.CommandContext(t.Context(), bin, "--url", url, "--token-file", tok, "shell", "work")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	req := recv(t, f.requests)
	if q := req.URL.Query(); q.Get("cols") != "90" || q.Get("rows") != "33" {
		t.Errorf("initial size: %s", req.URL.RawQuery)
	}
	// Ctrl-C is a key for the guest, not a signal for us.
	if _, err := ptmx.Write([]byte("hello\x03")); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "hello\x03")

	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 100, Rows: 40}); err != nil {
		t.Fatal(err)
	}
	// Window size changes are delivered as they come; wait for the new one.
	for {
		var r struct{ Cols, Rows int }
		if err := json.Unmarshal([]byte(recv(t, f.resizes)), &r); err != nil {
			t.Fatal(err)
		}
		if r.Cols == 100 && r.Rows == 40 {
			break
		}
	}

	// In raw mode the guest gets "\r" as typed; the fake exits 3 on it.
	if _, err := ptmx.Write([]byte("exit\r")); err != nil {
		t.Fatal(err)
	}
	err = recv(t, exited)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v; output:\n%q", err, out)
	}
	after, err := term.GetState(int(tty.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Error("the terminal was not restored")
	}
}
