//go:build linux

package vpnlab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// netnsDir is where iproute2 keeps named network namespaces.
const netnsDir = "/run/netns"

// ip runs iproute2 and returns its error with the output.
func ip(args ...string) error {
	return run("ip", args...)
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// InNetns runs fn on an OS thread that has entered the named network
// namespace. Sockets fn creates stay in that namespace for their lifetime.
// If the thread cannot return to its namespace it is left locked, so the
// runtime discards it when fn's goroutine ends.
func InNetns(name string, fn func() error) error {
	target, err := os.Open(netnsDir + "/" + name)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", name, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	// A fresh goroutine: if it cannot restore its thread it may exit locked.
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// ListenIn opens a listener inside the named network namespace.
func ListenIn(ns, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := InNetns(ns, func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// DialIn connects from inside the named network namespace. addr must hold
// an IP address: names are not resolved in the namespace.
func DialIn(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := InNetns(ns, func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// addNetns creates a named network namespace with its loopback up.
func addNetns(name string) error {
	if err := ip("netns", "add", name); err != nil {
		return err
	}
	return ip("-n", name, "link", "set", "lo", "up")
}

// delNetns removes a named network namespace; links inside it go with it.
func delNetns(name string) error {
	return ip("netns", "del", name)
}

// sysctlIn sets a sysctl inside the named namespace (/proc/sys/net is per
// namespace, as seen by the thread that opens it).
func sysctlIn(ns, key, value string) error {
	return InNetns(ns, func() error {
		p := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
		if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
			return fmt.Errorf("sysctl %s in %s: %w", key, ns, err)
		}
		return nil
	})
}
