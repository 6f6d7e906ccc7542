package vpn

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// agentNS is the agent's own network namespace, opened during package
// initialization, which runs on the main thread before any goroutine could
// have moved a thread elsewhere. (/proc/self/ns/net names the main
// thread's namespace, which a locked goroutine may have left since.)
var agentNS, agentNSErr = netns.GetFromPath("/proc/thread-self/ns/net")

// errNSClosed reports use of a tunnel namespace after Close.
var errNSClosed = errors.New("tunnel namespace closed")

// tunnelNS is a private network namespace held by one OS thread that never
// leaves it. That thread creates the sockets meant for the tunnel (a socket
// belongs to the namespace it was created in for its whole life); every
// other thread of the agent stays in the agent's namespace.
type tunnelNS struct {
	fd   int             // keeps the namespace alive; IFLA_NET_NS_FD for moves
	nl   *netlink.Handle // netlink socket inside the namespace
	reqs chan func()
	done chan struct{}

	mu     sync.RWMutex
	closed bool
}

func newTunnelNS() (*tunnelNS, error) {
	n := &tunnelNS{fd: -1, reqs: make(chan func()), done: make(chan struct{})}
	ready := make(chan error, 1)
	go n.serve(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	err := n.do(func() error {
		var err error
		if n.nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			return fmt.Errorf("netlink in tunnel namespace: %w", err)
		}
		lo, err := n.nl.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("tunnel namespace lo: %w", err)
		}
		if err := n.nl.LinkSetUp(lo); err != nil {
			return fmt.Errorf("tunnel namespace lo up: %w", err)
		}
		return nil
	})
	if err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// serve is the namespace's thread. When the namespace closes it returns
// the thread to the agent's namespace for the runtime to reuse rather than
// letting it end: an ending thread fires the parent-death signal of every
// child it ever forked for another goroutine (a shell started with
// Pdeathsig, say). Only a thread that cannot return stays locked and ends.
func (n *tunnelNS) serve(ready chan<- error) {
	defer close(n.done)
	runtime.LockOSThread()
	if agentNSErr != nil {
		runtime.UnlockOSThread()
		ready <- fmt.Errorf("agent network namespace: %w", agentNSErr)
		return
	}
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread() // still in the agent's namespace
		ready <- fmt.Errorf("unshare network namespace: %w", err)
		return
	}
	defer leave()
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		ready <- fmt.Errorf("open tunnel namespace: %w", err)
		return
	}
	n.fd = fd
	ready <- nil
	for f := range n.reqs {
		f()
	}
}

// leave moves the calling locked thread back to the agent's namespace and
// unlocks it; if it cannot, the thread stays locked and the runtime ends it
// with its goroutine.
func leave() {
	if unix.Setns(int(agentNS), unix.CLONE_NEWNET) == nil {
		runtime.UnlockOSThread()
	}
}

// do runs f on the namespace's thread.
func (n *tunnelNS) do(f func() error) error {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return errNSClosed
	}
	errc := make(chan error, 1)
	n.reqs <- func() { errc <- f() }
	return <-errc
}

// socket creates a non-blocking socket inside the namespace.
func (n *tunnelNS) socket(family, typ int) (int, error) {
	fd := -1
	err := n.do(func() error {
		var err error
		fd, err = unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("socket in tunnel namespace: %w", err)
	}
	return fd, nil
}

// Close ends the namespace's thread and releases the namespace; devices
// still in it are destroyed with it.
func (n *tunnelNS) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	close(n.reqs)
	n.mu.Unlock()
	<-n.done
	if n.nl != nil {
		n.nl.Close()
	}
	if n.fd >= 0 {
		return unix.Close(n.fd)
	}
	return nil
}

// openTun opens the tun clone device from inside the namespace, so that
// the device made through it belongs to the namespace from birth. Only the
// access mode and O_NONBLOCK of flags are kept.
func (n *tunnelNS) openTun(flags int) (int, error) {
	fd := -1
	err := n.do(func() error {
		var err error
		fd, err = unix.Open(tunPath, flags&(unix.O_ACCMODE|unix.O_NONBLOCK)|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("open %s in tunnel namespace: %w", tunPath, err)
	}
	return fd, nil
}
