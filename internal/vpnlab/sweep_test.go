//go:build linux

package vpnlab

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

func TestSweepRemovesLabsOfDeadProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("vpnlab-%d-1-srv", dead.Process.Pid)
	if err := addNetns(ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { delNetns(ns) })
	stray := exec.Command("ip", "netns", "exec", ns, "sleep", "600")
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stray.Process.Kill() })
	live := fmt.Sprintf("vpnlab-%d-99-srv", os.Getpid())
	if err := addNetns(live); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { delNetns(live) })

	sweep(t)
	if err := stray.Wait(); err == nil {
		t.Error("the stray process in the dead lab survived the sweep")
	}
	if _, err := os.Stat(netnsDir + "/" + ns); !os.IsNotExist(err) {
		t.Errorf("namespace %s of a dead process survived: %v", ns, err)
	}
	if _, err := os.Stat(netnsDir + "/" + live); err != nil {
		t.Errorf("the sweep removed the live process's %s: %v", live, err)
	}
}
