//go:build linux

package cli

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// TestShellOnTerminal runs the built program on a pseudo-terminal: keys
// must reach the guest unchanged (raw mode), window changes must be sent,
// the guest's exit status must become the program's, and the terminal
// must be restored.
// onTerminal is the built program running on a pseudo-terminal.
type onTerminal struct {
	ptmx, tty *os.File
	out       *syncBuffer // what the program wrote to the terminal
	exited    chan error  // the program's end
	before    *term.State // the terminal's mode before the program ran
}

func startOnTerminal(t *testing.T, cols, rows uint16, args ...string) *onTerminal {
	t.Helper()
	bin := binary(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: cols, Rows: rows}); err != nil {
		t.Fatal(err)
	}
	o := &onTerminal{ptmx: ptmx, tty: tty, out: newSyncBuffer(), exited: make(chan error, 1)}
	if o.before, err = term.GetState(int(tty.Fd())); err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			o.out.Write(buf[:n])
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
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { o.exited <- cmd.Wait() }()
	return o
}

// waitNoEcho waits until the program turned the terminal's echo off. No
// event announces that, so it looks a few times a millisecond apart.
func (o *onTerminal) waitNoEcho(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		tio, err := unix.IoctlGetTermios(int(o.tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("echo never turned off")
		}
		time.Sleep(time.Millisecond)
	}
}

func (o *onTerminal) write(t *testing.T, s string) {
	t.Helper()
	if _, err := o.ptmx.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the program's end and checks its status and that it
// left the terminal as it found it.
func (o *onTerminal) wait(t *testing.T, code int) {
	t.Helper()
	got := 0
	if err := recv(t, o.exited); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("wait: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != code {
		t.Fatalf("exit %d, want %d; output:\n%q", got, code, o.out)
	}
	after, err := term.GetState(int(o.tty.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.before, after) {
		t.Error("the terminal was not restored")
	}
}

// TestShellOnTerminal runs the built program on a pseudo-terminal: keys
// must reach the guest unchanged (raw mode), window changes must be sent,
// the guest's exit status must become the program's, and the terminal
// must be restored.
func TestShellOnTerminal(t *testing.T) {
	f, url, tok := startFakeShell(t)
	o := startOnTerminal(t, 90, 33, "--url", url, "--token-file", tok, "shell", "work")
	req := recv(t, f.requests)
	if q := req.URL.Query(); q.Get("cols") != "90" || q.Get("rows") != "33" {
		t.Errorf("initial size: %s", req.URL.RawQuery)
	}
	// Ctrl-C is a key for the guest, not a signal for us.
	o.write(t, "hello\x03")
	o.out.waitFor(t, "hello\x03")

	if err := pty.Setsize(o.ptmx, &pty.Winsize{Cols: 100, Rows: 40}); err != nil {
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
	o.write(t, "exit\r")
	o.wait(t, 3)
}

// TestPasswordPrompt checks that profile add asks for the password on a
// terminal without echoing it.
func TestPasswordPrompt(t *testing.T) {
	d := startDaemon(t)
	o := startOnTerminal(t, 80, 24, "--data-dir", d.dir, "vpn", "profile", "add", "work", testProfile(t, ""), "--username", "alice")
	o.out.waitFor(t, "Password for alice: ")
	o.waitNoEcho(t)
	o.write(t, "hunter2-secret\r")
	o.wait(t, 0)
	o.out.waitFor(t, "profile work stored") // the output may arrive after the exit
	if out := o.out.String(); strings.Contains(out, "hunter2") || !strings.Contains(out, "profile work stored") {
		t.Fatalf("output %q", out)
	}
	r := d.cli(t, "", "vpn", "profile", "show", "work")
	check(t, r, 0, "Password stored:  yes", "")
}

// TestProgressOnTerminal checks that a start shows a spinner line on a
// terminal and clears it.
func TestProgressOnTerminal(t *testing.T) {
	d := startDaemon(t)
	check(t, d.cli(t, "", "vm", "create", "work"), 0, "", "")
	o := startOnTerminal(t, 80, 24, "--data-dir", d.dir, "vm", "start", "work")
	o.wait(t, 0)
	o.out.waitFor(t, "VM work started") // the output may arrive after the exit
	out := o.out.String()
	if !strings.Contains(out, "⠋ starting VM work (first start") || !strings.Contains(out, "\r\033[KVM work started") {
		t.Fatalf("output %q", out)
	}
}
