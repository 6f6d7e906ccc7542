package vpn

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// The namespace's thread must outlive the namespace, back in the agent's
// namespace: an ending thread would fire the parent-death signal of
// children other goroutines forked on it.
func TestTunnelNSThreadReturns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	agent := nsInode(t, "/proc/thread-self/ns/net")
	n, err := newTunnelNS()
	if err != nil {
		t.Fatal(err)
	}
	var tid int
	var inside uint64
	n.do(func() error {
		tid = unix.Gettid()
		inside = nsInode(t, "/proc/thread-self/ns/net")
		return nil
	})
	if inside == agent {
		t.Fatal("the tunnel thread is in the agent's namespace")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	task := fmt.Sprintf("/proc/self/task/%d/ns/net", tid)
	if got := nsInode(t, task); got != agent {
		t.Errorf("after Close the thread is in namespace %d, want the agent's %d", got, agent)
	}
}
