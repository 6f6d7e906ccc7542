package vpn

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The tun device of a tunnel should be born inside the tunnel namespace: a
// device's namespace is that of the process that opened /dev/net/tun, and
// openvpn runs in the agent's namespace (it must reach the VPN server
// there). Moving the device afterwards costs the kernel 15-20 ms per
// connect and shows the device, for that moment, in the namespace every
// WSL2 distro shares.
//
// So openvpn is started from a thread that first installs a seccomp filter
// handing its read-write open and openat calls to the supervisor
// (SECCOMP_RET_USER_NOTIF); openvpn inherits the filter. The supervisor
// lets every call continue unchanged except an open of /dev/net/tun, which
// it performs itself from the tunnel namespace's thread and installs into
// openvpn as the call's result (SECCOMP_IOCTL_NOTIF_ADDFD). The filtered
// thread is never given back to the Go scheduler: its goroutine exits
// locked, which ends the thread, and the runtime starts new threads from a
// clean template thread rather than from a locked one. Where seccomp
// notification is unavailable, openvpn starts as before and the device is
// moved.

// installFilter asks the kernel to notify a listener of this thread's (and
// after exec, openvpn's) open and openat calls that open for reading and
// writing, as openvpn opens /dev/net/tun, and returns the listener. Other
// opens (the dynamic loader's, OpenSSL's, the profile's) never leave the
// kernel: each notification costs a round trip through the supervisor.
func installFilter() (int, error) {
	if !filterSupported {
		return -1, fmt.Errorf("not supported on %s", runtime.GOARCH)
	}
	const (
		ld     = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		and    = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
		ret    = unix.BPF_RET | unix.BPF_K
		allow  = 11
		notify = 12
	)
	// struct seccomp_data: int nr at 0, u32 arch at 4, u64 args[6] from
	// 16; the flags' low 32 bits come first on little-endian amd64 and
	// arm64. Jumps count from the next instruction.
	argLow := func(i uint32) uint32 { return 16 + 8*i }
	prog := []unix.SockFilter{
		/* 0 */ {Code: ld, K: 4},
		/* 1 */ {Code: jeq, K: auditArch, Jf: allow - 2}, // another ABI
		/* 2 */ {Code: ld, K: 0},
		/* 3 */ {Code: jeq, K: unix.SYS_OPENAT, Jf: 7 - 4},
		/* 4 */ {Code: ld, K: argLow(2)}, // openat(dirfd, path, flags, mode)
		/* 5 */ {Code: and, K: unix.O_ACCMODE},
		/* 6 */ {Code: jeq, K: unix.O_RDWR, Jt: notify - 7, Jf: allow - 7},
		/* 7 */ {Code: jeq, K: sysOpen, Jf: allow - 8},
		/* 8 */ {Code: ld, K: argLow(1)}, // open(path, flags, mode)
		/* 9 */ {Code: and, K: unix.O_ACCMODE},
		/* 10 */ {Code: jeq, K: unix.O_RDWR, Jt: notify - 11},
		/* 11 */ {Code: ret, K: unix.SECCOMP_RET_ALLOW},
		/* 12 */ {Code: ret, K: unix.SECCOMP_RET_USER_NOTIF},
	}
	// openvpn needs no privilege it does not already have; without this
	// the kernel wants CAP_SYS_ADMIN for a filter.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, fmt.Errorf("no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, fmt.Errorf("seccomp: %w", errno)
	}
	return int(fd), nil
}
