package server_test

import (
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/server"
)

// pidOf reads the "pid-N" line that the shell's program printed.
func (c *shellClient) pidOf() int {
	c.t.Helper()
	re := regexp.MustCompile(`pid-(\d+)\r?\n`)
	for {
		if m := re.FindStringSubmatch(c.out.String()); m != nil {
			pid, _ := strconv.Atoi(m[1])
			return pid
		}
		f, err := c.next()
		if err != nil || f.Channel != agentapi.ChannelOutput {
			c.t.Fatalf("waiting for the pid: frame %d, %v; output %q", f.Channel, err, c.out.String())
		}
		c.out.Write(f.Data)
	}
}

// waitGone waits until process pid no longer exists: the shell was ended
// and reaped by the agent.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := os.FindProcess(pid)
		if err != nil || p.Signal(syscall.Signal(0)) != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs: the shell was left behind", pid)
		}
		time.Sleep(10 * time.Millisecond) // nothing to wait on for another process's end
	}
}

// startedShell opens sh printing its pid, then running cmd in its place.
func startedShell(t *testing.T, e *shellEnv, cmd string) (*shellClient, int) {
	t.Helper()
	c := e.open(t, "argv=/bin/sh&argv=-c&argv="+url.QueryEscape("echo pid-$$; exec "+cmd))
	return c, c.pidOf()
}

func TestShellVMKilled(t *testing.T) {
	checkGoroutines(t)
	a := startAgent(t)
	e := newShellEnv(t, a)
	c := e.open(t, "argv=/bin/sh")
	c.send("echo up-$((1+1))\r")
	c.expect("up-2")
	a.kill(t)
	st, ce := c.end()
	if st.ExitCode != -1 || st.Reason != "vm stopped" {
		t.Errorf("status = %+v, want exit code -1, reason vm stopped", st)
	}
	if ce.Code != websocket.CloseNormalClosure {
		t.Errorf("close = %v", ce)
	}
}

func TestShellVMStopped(t *testing.T) {
	checkGoroutines(t)
	a := startAgent(t)
	e := newShellEnv(t, a)
	c := e.open(t, "argv=/bin/sh")
	c.send("echo up-$((1+1))\r")
	c.expect("up-2")
	a.stop(t)
	st, ce := c.end()
	if st.Reason != "agent shutting down" {
		t.Errorf("status = %+v, want the agent's own", st)
	}
	if ce.Code != websocket.CloseNormalClosure {
		t.Errorf("close = %v", ce)
	}
}

func TestShellDaemonShutdown(t *testing.T) {
	checkGoroutines(t)
	e := newShellEnv(t, startAgent(t))
	c, pid := startedShell(t, e, "cat")
	e.shutdown()
	// As the daemon does: the last status is sent before Wait returns.
	e.sessions.Wait()
	st, ce := c.end()
	if st.ExitCode != -1 || st.Reason != "daemon shutting down" {
		t.Errorf("status = %+v", st)
	}
	if ce.Code != websocket.CloseGoingAway || ce.Text != "daemon shutting down" {
		t.Errorf("close = %v", ce)
	}
	waitGone(t, pid)
	_, resp, err := e.dial(t, "/v1/vms/default/shell", nil)
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Errorf("a shell after shutdown: %v, want a 503 answer", err)
	}
}

// TestShellClientLeaves checks that a client that leaves, with a close
// handshake or without, leaves no shell behind.
func TestShellClientLeaves(t *testing.T) {
	checkGoroutines(t)
	e := newShellEnv(t, startAgent(t))
	c, pid := startedShell(t, e, "cat")
	c.ws.NetConn().Close()
	waitGone(t, pid)

	c, pid = startedShell(t, e, "cat")
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.next(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("after our close: %v, want the daemon's close reply", err)
	}
	waitGone(t, pid)
}

// TestShellSlowClient lets a shell print as fast as it can to a client
// that stops reading: the relay must stop reading too, so the daemon's
// heap stays flat, and the stream must carry on intact once the client
// reads again.
func TestShellSlowClient(t *testing.T) {
	checkGoroutines(t)
	e := newShellEnv(t, startAgent(t))
	c, _ := startedShell(t, e, "yes 0123456789abcdef")
	c.expect("0123456789abcdef")
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	time.Sleep(2 * time.Second) // the client "does not read" for this long
	after := heap()
	t.Logf("heap while the client did not read: %d KiB -> %d KiB", before>>10, after>>10)
	if after > before+8<<20 {
		t.Errorf("heap grew by %d KiB while the client did not read", (after-before)>>10)
	}
	// Unread output waits in the kernel's buffers and behind the
	// program's blocked writes: nothing was dropped.
	for read := 0; read < 4<<20; {
		f, err := c.next()
		if err != nil || f.Channel != agentapi.ChannelOutput {
			t.Fatalf("after %d bytes: frame %d, %v", read, f.Channel, err)
		}
		read += len(f.Data)
	}
}

// TestShellStalledClientDropped checks that a client that reads nothing
// for the write timeout is dropped and its shell ended.
func TestShellStalledClientDropped(t *testing.T) {
	checkGoroutines(t)
	defer server.SetShellTimings(300*time.Millisecond, time.Minute, time.Minute, 200*time.Millisecond)()
	e := newShellEnv(t, startAgent(t))
	_, pid := startedShell(t, e, "yes")
	waitGone(t, pid)
}

// TestShellKeepalive checks the pings: an idle client that answers them
// stays, one that does not is dropped with its shell.
func TestShellKeepalive(t *testing.T) {
	checkGoroutines(t)
	defer server.SetShellTimings(time.Second, 50*time.Millisecond, 300*time.Millisecond, 200*time.Millisecond)()
	e := newShellEnv(t, startAgent(t))

	alive := e.open(t, "argv=/bin/sh")
	alive.send("sleep 1; echo alive-$((2+3))\r") // quiet for three silence limits
	alive.expect("alive-5")

	_, pid := startedShell(t, e, "cat") // we never read it again: no pongs
	waitGone(t, pid)
}
