package vpn

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
	listener int
	ns       *tunnelNS
	log      *slog.Logger
	wakeR    int // closing wakeW ends serve
	wakeW    int
	notified int // calls the filter handed over
	opened   int // tun devices handed to openvpn
}

func newTunOpener(listener int, ns *tunnelNS, log *slog.Logger) (*tunOpener, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("tun opener: %w", err)
	}
	return &tunOpener{listener: listener, ns: ns, log: log, wakeR: p[0], wakeW: p[1]}, nil
}

// stop makes serve return; call it once, then wait for serve.
func (o *tunOpener) stop() { unix.Close(o.wakeW) }

// serve answers notifications until openvpn is gone or stop is called,
// then closes its descriptors.
func (o *tunOpener) serve() {
	defer unix.Close(o.wakeR)
	defer unix.Close(o.listener)
	defer func() { o.log.Debug("vpn_tun_opener_done", "notified", o.notified, "opened", o.opened) }()
	fds := []unix.PollFd{{Fd: int32(o.listener), Events: unix.POLLIN}, {Fd: int32(o.wakeR), Events: unix.POLLIN}}
	for {
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			o.log.Warn("vpn_tun_opener_failed", "err", err)
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			return // POLLHUP: the filtered process is gone
		}
		var n seccompNotif
		if err := ioctl(o.listener, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&n)); err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOENT) {
				continue // interrupted, or the caller died meanwhile
			}
			o.log.Warn("vpn_tun_opener_failed", "err", err)
			return
		}
		o.notified++
		o.answer(&n)
	}
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
