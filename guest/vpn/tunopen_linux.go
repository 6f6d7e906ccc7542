package vpn

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tunPath is the clone device every tun device is made through.
const tunPath = "/dev/net/tun"

// The kernel's seccomp user-notification structures (linux/seccomp.h).
type (
	seccompNotif struct {
		ID    uint64
		PID   uint32
		Flags uint32
		Nr    int32
		Arch  uint32
		IP    uint64
		Args  [6]uint64
	}
	seccompNotifResp struct {
		ID    uint64
		Val   int64
		Error int32
		Flags uint32
	}
	seccompNotifAddfd struct {
		ID         uint64
		Flags      uint32
		SrcFD      uint32
		NewFD      uint32
		NewFDFlags uint32
	}
)

// tunOpener answers the open calls of one openvpn process: an open of
// /dev/net/tun is performed in the tunnel namespace, every other call
// continues as if nothing had intercepted it.
type tunOpener struct {
	listener int      // the filter's notification descriptor
	file     *os.File // listener, waited on through the network poller
	ns       *tunnelNS
	log      *slog.Logger
	notified int // calls the filter handed over
	opened   int // tun devices handed to openvpn
}

// newTunOpener takes listener over unless it fails.
func newTunOpener(listener int, ns *tunnelNS, log *slog.Logger) (*tunOpener, error) {
	if err := unix.SetNonblock(listener, true); err != nil {
		return nil, fmt.Errorf("tun opener: %w", err)
	}
	return &tunOpener{listener: listener, file: os.NewFile(uintptr(listener), "seccomp-notify"), ns: ns, log: log}, nil
}

// stop makes serve return; call it once, then wait for serve.
func (o *tunOpener) stop() { o.file.Close() }

// serve answers notifications until openvpn is gone or stop is called,
// then closes the listener.
//
// It waits through the network poller rather than in poll(2): the agent
// runs Go code on one processor, which a blocking call would hold until
// the runtime's monitor took it back, up to 10 ms per wait.
func (o *tunOpener) serve() {
	defer o.file.Close()
	defer func() { o.log.Debug("vpn_tun_opener_done", "notified", o.notified, "opened", o.opened) }()
	rc, err := o.file.SyscallConn()
	if err != nil {
		o.log.Warn("vpn_tun_opener_failed", "err", err)
		return
	}
	if o.file.SetReadDeadline(time.Time{}) != nil {
		o.serveBlocking(rc) // the poller cannot wait on it here
		return
	}
	for {
		done := false
		err := rc.Read(func(uintptr) bool {
			ready, gone := o.pending(0)
			if !ready && !gone {
				return false
			}
			done = gone || !o.next()
			return true
		})
		if err != nil || done {
			return // stopped, or openvpn is gone
		}
	}
}

// serveBlocking is serve for a listener the poller cannot wait on: it
// waits in poll(2), a tenth of a second at a time so that it notices stop.
func (o *tunOpener) serveBlocking(rc syscall.RawConn) {
	for {
		done := false
		err := rc.Control(func(uintptr) {
			ready, gone := o.pending(100)
			done = gone || (ready && !o.next())
		})
		if err != nil || done {
			return
		}
	}
}

// pending polls the listener for up to ms milliseconds: ready when a
// notification waits, gone when the filtered process has ended or the
// listener failed.
func (o *tunOpener) pending(ms int) (ready, gone bool) {
	fds := []unix.PollFd{{Fd: int32(o.listener), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, ms)
	switch {
	case errors.Is(err, unix.EINTR) || (err == nil && n == 0):
		return false, false
	case err != nil:
		o.log.Warn("vpn_tun_opener_failed", "err", err)
		return false, true
	case fds[0].Revents&unix.POLLIN == 0:
		return false, true // POLLHUP: the filtered process is gone
	}
	return true, false
}

// next receives and answers one notification; false when the listener
// failed.
func (o *tunOpener) next() bool {
	var n seccompNotif
	if err := ioctl(o.listener, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&n)); err != nil {
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOENT) {
			return true // interrupted, or the caller died meanwhile
		}
		o.log.Warn("vpn_tun_opener_failed", "err", err)
		return false
	}
	o.notified++
	o.answer(&n)
	return true
}

// answer handles one intercepted call.
func (o *tunOpener) answer(n *seccompNotif) {
	pathArg, flagsArg := n.Args[1], n.Args[2] // openat(dirfd, path, flags, mode)
	if n.Nr != unix.SYS_OPENAT {
		pathArg, flagsArg = n.Args[0], n.Args[1] // open(path, flags, mode)
	}
	path, err := readString(int(n.PID), pathArg, len(tunPath)+1)
	// The path was read from a process that may have died and been
	// replaced since: only act if the notification is still pending.
	if err != nil || path != tunPath || ioctl(o.listener, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&n.ID)) != nil {
		o.resume(n.ID)
		return
	}
	flags := int(flagsArg)
	fd, err := o.ns.openTun(flags)
	if err != nil {
		o.log.Warn("vpn_tun_open_in_namespace_failed", "err", err)
		o.resume(n.ID) // openvpn opens it itself; the device is moved later
		return
	}
	defer unix.Close(fd)
	add := seccompNotifAddfd{ID: n.ID, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, SrcFD: uint32(fd)}
	if flags&unix.O_CLOEXEC != 0 {
		add.NewFDFlags = unix.O_CLOEXEC
	}
	if err := ioctl(o.listener, unix.SECCOMP_IOCTL_NOTIF_ADDFD, unsafe.Pointer(&add)); err != nil {
		if !errors.Is(err, unix.ENOENT) {
			o.log.Warn("vpn_tun_handover_failed", "err", err)
			o.resume(n.ID)
		}
		return
	}
	o.opened++
	o.log.Info("vpn_tun_opened_in_namespace", "pid", n.PID)
}

// resume lets the intercepted call run as the process made it.
func (o *tunOpener) resume(id uint64) {
	resp := seccompNotifResp{ID: id, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	if err := ioctl(o.listener, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)); err != nil && !errors.Is(err, unix.ENOENT) {
		o.log.Warn("vpn_tun_opener_resume_failed", "err", err)
	}
}

// readString reads a NUL-terminated string of at most max bytes at addr
// in process pid's memory. A longer string is returned cut at max bytes.
func readString(pid int, addr uint64, max int) (string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, max)
	n, err := f.ReadAt(buf, int64(addr))
	if n == 0 && err != nil {
		return "", err
	}
	if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
		return string(buf[:i]), nil
	}
	return string(buf[:n]), nil
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}
