//go:build linux

package vpnlab

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// sweep removes what labs of test processes that died without their
// cleanups (a crash, a kill on timeout) left behind: their namespaces,
// named vpnlab-<pid>-..., and the processes still running inside them.
// Labs of live processes are left alone.
func sweep(t testing.TB) {
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "vpnlab-")
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || !errors.Is(unix.Kill(pid, 0), unix.ESRCH) {
			continue
		}
		if out, err := exec.Command("ip", "netns", "pids", e.Name()).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if p, err := strconv.Atoi(f); err == nil {
					unix.Kill(p, unix.SIGKILL)
				}
			}
		}
		if err := delNetns(e.Name()); err != nil {
			t.Logf("vpnlab: sweeping %s: %v", e.Name(), err)
		} else {
			t.Logf("vpnlab: swept %s, left by dead process %d", e.Name(), pid)
		}
	}
}
