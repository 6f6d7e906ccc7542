//go:build linux

package procwait

import (
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestExitedWaitsForTheEnd(t *testing.T) {
	cmd := exec.Command("sleep", "0.2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	Exited(cmd.Process.Pid)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("Exited returned after %v, before the process ended", d)
	}
	// Not reaped: Wait still gets the status.
	if err := cmd.Wait(); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if !cmd.ProcessState.Exited() {
		t.Errorf("state %v", cmd.ProcessState)
	}
}

func TestExitedOnAZombie(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Until it has ended, without reaping it.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { Exited(cmd.Process.Pid); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Exited did not return for a process that had ended")
	}
	cmd.Wait()
}
