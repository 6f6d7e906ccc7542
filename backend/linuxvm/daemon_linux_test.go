package linuxvm

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/velocitty/microvm/machine"
)

// TestGuestOutlivesDaemon starts a guest from a separate daemon process,
// SIGKILLs that process, and finds the guest running from a new backend.
func TestGuestOutlivesDaemon(t *testing.T) {
	b, s := newTest(t, anyAgent)
	job, err := json.Marshal(daemonJob{Image: b.cfg.ImagePath, Agent: b.cfg.AgentPath, Spec: s})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	daemon := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	daemon.Env = append(os.Environ(), envDaemon+"="+string(job))
	daemon.Stderr = os.Stderr
	out, err := daemon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	daemon.Process.Kill()
	daemon.Wait()
	if strings.TrimSpace(line) != "started" {
		t.Fatalf("daemon: %q, %v", line, err)
	}

	wantState(t, b, s, machine.GuestRunning)
	if err := agentAt(s.AgentPort, s.Token).Ping(ctx); err != nil {
		t.Fatalf("agent after its daemon died: %v", err)
	}
	f, err := readBox(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(ctx, s); err != nil {
		t.Fatal(err)
	}
	assertGone(t, s, f)
}
