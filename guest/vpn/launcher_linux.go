package vpn

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
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
// So openvpn is started through a launcher: the agent's own binary,
// re-executed, installs a seccomp filter that hands openvpn's open and
// openat calls to the supervisor (SECCOMP_RET_USER_NOTIF), passes the
// filter's listener back, and executes openvpn. The supervisor lets every
// call continue unchanged except an open of /dev/net/tun, which it performs
// itself from the tunnel namespace's thread and installs into openvpn as
// the call's result (SECCOMP_IOCTL_NOTIF_ADDFD). Where any of this is not
// available, openvpn runs as before and the device is moved.

// LauncherEnv marks a process started as openvpn's launcher: its argv is
// openvpn's, and fd 3 is the socket that receives the filter's listener.
const LauncherEnv = "MICROVM_VPN_LAUNCHER"

// RunLauncherIfAsked becomes openvpn, behind the filter, when this process
// was started as the launcher, and returns otherwise. Programs that set
// Config.Launcher to their own binary call it first thing in main (or
// TestMain).
func RunLauncherIfAsked() {
	if os.Getenv(LauncherEnv) != "1" {
		return
	}
	err := becomeOpenVPN(os.Args)
	fmt.Fprintln(os.Stderr, "openvpn launcher:", err)
	os.Exit(127)
}

// becomeOpenVPN installs the filter, hands its listener over on fd 3 (or says it
// has none) and executes argv. It returns only on failure.
func becomeOpenVPN(argv []string) error {
	// The filter binds this thread; exec keeps only this thread.
	runtime.LockOSThread()
	if len(argv) == 0 {
		return fmt.Errorf("no program")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, LauncherEnv+"=") })
	const sock = 3
	listener, ferr := installFilter()
	if ferr != nil {
		// openvpn still runs; the supervisor moves the device instead.
		fmt.Fprintln(os.Stderr, "openvpn launcher: no seccomp listener:", ferr)
		err = unix.Sendmsg(sock, []byte{0}, nil, nil, 0)
	} else {
		// From here on this thread's open calls wait for the supervisor,
		// which answers once it has the listener: nothing below opens a
		// file before exec.
		err = unix.Sendmsg(sock, []byte{1}, unix.UnixRights(listener), nil, 0)
		unix.Close(listener)
	}
	if err != nil {
		return fmt.Errorf("hand over the listener: %w", err)
	}
	unix.Close(sock)
	return syscall.Exec(path, argv, env)
}

// installFilter asks the kernel to notify a listener of this thread's (and
// after exec, openvpn's) open and openat calls, and returns the listener.
func installFilter() (int, error) {
	if !filterSupported {
		return -1, fmt.Errorf("not supported on %s", runtime.GOARCH)
	}
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	// struct seccomp_data: int nr at 0, u32 arch at 4.
	prog := []unix.SockFilter{
		{Code: ld, K: 4},
		{Code: jeq, K: auditArch, Jt: 0, Jf: 3}, // another ABI: allow
		{Code: ld, K: 0},
		{Code: jeq, K: unix.SYS_OPENAT, Jt: 2},
		{Code: jeq, K: sysOpen, Jt: 1},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		{Code: ret, K: unix.SECCOMP_RET_USER_NOTIF},
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
