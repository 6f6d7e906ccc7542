package vpn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// dial connects to ap from inside the namespace. Only the socket is made
// on the namespace's thread; the connect waits in the runtime's poller like
// any other, so slow connects hold no thread.
func (n *tunnelNS) dial(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	typ := unix.SOCK_STREAM
	switch network {
	case "tcp", "tcp4", "tcp6":
	case "udp", "udp4", "udp6":
		typ = unix.SOCK_DGRAM
	default:
		return nil, fmt.Errorf("dial %s %s: %w", network, ap, net.UnknownNetworkError(network))
	}
	var sa unix.Sockaddr
	family := unix.AF_INET
	if ap.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := n.socket(family, typ)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "tunnel-socket")
	defer f.Close()
	if err := connect(ctx, f, sa); err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(ap), Err: err}
	}
	c, err := net.FileConn(f) // a dup registered with the poller; f is closed
	if err != nil {
		return nil, fmt.Errorf("dial %s %s: %w", network, ap, err)
	}
	return c, nil
}

func connect(ctx context.Context, f *os.File, sa unix.Sockaddr) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) { cerr = unix.Connect(int(fd), sa) }); err != nil {
		return err
	}
	if cerr == nil {
		return nil
	}
	if !errors.Is(cerr, unix.EINPROGRESS) {
		return os.NewSyscallError("connect", cerr)
	}
	if dl, ok := ctx.Deadline(); ok {
		f.SetWriteDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	// Each call checks the socket's state itself rather than trusting a
	// wakeup: RawWrite resets the poller's readiness before the first call,
	// so an event that arrived earlier (a loopback refusal is immediate)
	// would otherwise be lost.
	werr := rc.Write(func(fd uintptr) bool {
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			cerr = err
			return true
		}
		switch e := unix.Errno(v); e {
		case 0:
			if _, err := unix.Getpeername(int(fd)); err != nil {
				return false // still connecting
			}
			cerr = nil
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
			return false
		default:
			cerr = e
		}
		return true
	})
	if werr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return werr
	}
	if cerr != nil {
		return os.NewSyscallError("connect", cerr)
	}
	return nil
}
