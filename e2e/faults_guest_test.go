//go:build e2e && linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
	"github.com/velocitty/microvm/errdefs"
)

// TestFaultAgentKilled kills the guest's agent with SIGKILL, first the
// serving agent and then the init that is the guest's PID 1: each time the
// daemon notices on its own, reports the VM in error with a reason through
// GET and the event stream, keeps serving, and a start brings the VM back
// with a working proxy.
func TestFaultAgentKilled(t *testing.T) {
	bin := binDir(t)
	dataDir := t.TempDir()
	d := startDaemon(t, bin, dataDir)
	c := newClient(t, d)
	ctx := testContext(t)
	o := startOrigin(t)

	const name = "fault-agent"
	if _, err := c.CreateVM(ctx, name, "linux"); err != nil {
		t.Fatal(err)
	}
	vm, err := c.StartVM(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	vmDir := filepath.Join(dataDir, "vms", name)
	for _, victim := range []string{"serve", "init"} {
		mountNS := guestMountNS(t, vmDir)
		pid := agentPID(t, mountNS, victim)
		procs := snapshot(guestPIDs(mountNS))

		errored := nextEvent(t, c, func(ev api.Event) bool {
			return ev.VM == name && ev.Type == "vm.state" && ev.State == "error"
		})
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill agent %s (pid %d): %v", victim, pid, err)
		}
		killed := time.Now()
		var ev api.Event
		select {
		case ev = <-errored:
		case <-time.After(30 * time.Second):
			t.Fatalf("no vm.state error event within 30s of killing the agent's %s", victim)
		}
		detected := time.Since(killed)
		got, err := c.GetVM(ctx, name)
		if err != nil || got.State != "error" || got.Reason == "" {
			t.Fatalf("after killing the agent's %s: %+v %v", victim, got, err)
		}
		if ev.Reason != got.Reason {
			t.Errorf("event reason %q differs from the VM's %q", ev.Reason, got.Reason)
		}
		waitFor(t, 10*time.Second, "the dead guest's processes are gone", func() bool { return len(alive(procs)) == 0 })
		if _, err := c.Exec(ctx, name, api.ExecRequest{Argv: []string{"true"}}); !errors.Is(err, errdefs.ErrConflict) {
			t.Fatalf("exec in a VM in error: %v, want a conflict", err)
		}
		if _, err := c.ListVMs(ctx); err != nil {
			t.Fatalf("daemon stopped serving: %v", err)
		}

		began := time.Now()
		if vm, err = c.StartVM(ctx, name); err != nil || vm.State != "running" {
			t.Fatalf("start after the agent's %s was killed: %+v %v", victim, vm, err)
		}
		recovered := time.Since(began)
		mustExec(t, c, name, "true")
		if got := socksGet(t, vm.SocksAddress, o.URL+"/hello"); got != "hello from origin\n" {
			t.Fatalf("proxy after recovery: %q", got)
		}
		observe(t, "agent %s killed: detected after %v (%q), running again %v after start",
			victim, detected.Round(time.Millisecond), got.Reason, recovered.Round(time.Millisecond))
	}
}

// agentPID finds the guest's init (PID 1 in the guest, `microvm-agent
// init`) or the agent it serves with (`serve`, the init's child).
func agentPID(t *testing.T, mountNS, role string) int {
	t.Helper()
	for _, pid := range guestPIDs(mountNS) {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		argv := strings.Split(string(raw), "\x00")
		if len(argv) > 1 && strings.HasSuffix(argv[0], "microvm-agent") == (role == "init") && argv[1] == role {
			return pid
		}
	}
	t.Fatalf("no agent %s process in the guest", role)
	return 0
}

// nextEvent follows the daemon's events from now on and delivers the
// first that match wants. The stream ends after it, or with the test.
func nextEvent(t *testing.T, c *client.Client, match func(api.Event) bool) <-chan api.Event {
	t.Helper()
	since := time.Now()
	ctx, cancel := context.WithCancel(t.Context())
	s, err := c.Events(ctx, 0)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	found := make(chan api.Event, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer s.Close()
		for {
			ev, err := s.Next()
			if err != nil {
				return
			}
			if !ev.Time.Before(since) && match(ev) {
				found <- ev
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return found
}

// TestFaultShellKilled kills the program of one of two open shells with
// SIGKILL: its client gets a status frame naming the signal and the
// session closes, the other shell keeps working and ends normally, and no
// process of either is left in the guest.
func TestFaultShellKilled(t *testing.T) {
	bin := binDir(t)
	dataDir := t.TempDir()
	d := startDaemon(t, bin, dataDir)
	c := newClient(t, d)
	ctx := testContext(t)

	const name = "fault-shell"
	if _, err := c.CreateVM(ctx, name, "linux"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartVM(ctx, name); err != nil {
		t.Fatal(err)
	}
	mountNS := guestMountNS(t, filepath.Join(dataDir, "vms", name))
	open := func(marker string) (*client.Shell, *bufio.Reader) {
		sh, err := c.Shell(ctx, name, client.ShellOptions{Argv: []string{"sh", "-c", `echo ready; while read l; do echo "got $l"; done`, marker}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sh.Close() })
		r := bufio.NewReader(sh)
		readUntil(t, r, "ready")
		return sh, r
	}
	victim, victimOut := open("fault-shell-victim")
	other, otherOut := open("fault-shell-other")
	pid := markedPID(t, mountNS, "fault-shell-victim")

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill shell %d: %v", pid, err)
	}
	killed := time.Now()
	if _, err := io.Copy(io.Discard, victimOut); err != nil {
		t.Fatalf("killed shell's session: %v, want its status then the end", err)
	}
	st, err := victim.Status()
	if err != nil || st.ExitCode != -1 || st.Signal == "" {
		t.Fatalf("killed shell's status: %+v %v, want a signal", st, err)
	}
	statusAfter := time.Since(killed)
	// The daemon closes the socket after the status: writes soon fail (the
	// first may still be taken by the kernel before the reset arrives).
	waitFor(t, 5*time.Second, "the killed shell's socket is closed", func() bool {
		_, err := victim.Write([]byte("anyone?\n"))
		return err != nil
	})

	if _, err := other.Write([]byte("still here\n")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, otherOut, "got still here")
	if _, err := other.Write([]byte{4}); err != nil { // Ctrl-D: end of input
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, otherOut); err != nil {
		t.Fatalf("second shell's end: %v", err)
	}
	if st, err := other.Status(); err != nil || st.ExitCode != 0 {
		t.Fatalf("second shell's status: %+v %v", st, err)
	}
	waitFor(t, 10*time.Second, "no shell process is left", func() bool {
		return markedPIDs(mountNS, "fault-shell-") == nil
	})
	observe(t, "shell killed with SIGKILL: status %q reached the client %v later; the concurrent shell kept working", st.Signal, statusAfter.Round(time.Millisecond))
}

// readUntil reads shell output until a line holds want.
func readUntil(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	var seen strings.Builder
	for {
		line, err := r.ReadString('\n')
		seen.WriteString(line)
		if strings.Contains(line, want) {
			return
		}
		if err != nil {
			t.Fatalf("shell output ended before %q: %v; got %q", want, err, seen.String())
		}
	}
}

// markedPID finds the one guest process whose command line holds marker.
func markedPID(t *testing.T, mountNS, marker string) int {
	t.Helper()
	pids := markedPIDs(mountNS, marker)
	if len(pids) != 1 {
		t.Fatalf("guest processes marked %q: %v, want one", marker, pids)
	}
	return pids[0]
}

func markedPIDs(mountNS, marker string) []int {
	var pids []int
	for _, pid := range guestPIDs(mountNS) {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.Contains(string(raw), marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// proc is a process told apart from a later one with the same pid by
// its start time.
type proc struct {
	pid   int
	start string
}

// snapshot records processes by pid and start time. Namespace ids are
// reused once a namespace is gone, so a dead guest's processes are looked
// for by their identity, not by namespace.
func snapshot(pids []int) []proc {
	var ps []proc
	for _, pid := range pids {
		if st := procStart(pid); st != "" {
			ps = append(ps, proc{pid, st})
		}
	}
	return ps
}

// alive returns the processes of ps that still run.
func alive(ps []proc) []proc {
	var left []proc
	for _, p := range ps {
		if procStart(p.pid) == p.start {
			left = append(left, p)
		}
	}
	return left
}

// procStart returns a process's start time in clock ticks since boot, ""
// when it is gone or a zombie.
func procStart(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 20 || f[0] == "Z" {
		return ""
	}
	return f[19]
}
