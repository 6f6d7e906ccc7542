//go:build linux

package wslemu

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// runInit is a distribution's PID 1, the part WSL's init plays: it
// starts the sessions clients ask for over its socket, relays their exit
// status, reaps orphans, and exits once no client has been attached for
// the idle timeout. Arguments: name, rootfs, run file, idle timeout in
// ms. fd 3 reports readiness ("ok" or the failure), fd 4 is the state
// lock, fd 5 the directory of the run file (which the chroot hides), fd
// 6 the listening session socket.
func runInit(args []string) int {
	ready := os.NewFile(3, "ready")
	lock := os.NewFile(4, "lock")
	runDir := os.NewFile(5, "run")
	sockFile := os.NewFile(6, "socket")
	if len(args) != 4 {
		fmt.Fprintf(ready, "init: bad arguments %q", args)
		return 2
	}
	rootfs, runFile := args[1], filepath.Base(args[2])
	idleMS, _ := strconv.Atoi(args[3])
	ln, err := net.FileListener(sockFile)
	if err != nil {
		fmt.Fprintf(ready, "init: %v", err)
		return 1
	}
	sockFile.Close()
	if err := setupRoot(rootfs); err != nil {
		fmt.Fprintf(ready, "init: %v", err)
		return 1
	}
	in := &initState{procs: map[int]chan syscall.WaitStatus{}, early: map[int]syscall.WaitStatus{}}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM)
	go in.serve(ln.(*net.UnixListener))
	ready.WriteString("ok")
	ready.Close()

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastClient := time.Now()
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGTERM {
				return 0
			}
			in.reap()
			continue
		case <-tick.C:
		}
		in.reap()
		if idleMS < 0 {
			continue
		}
		if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
			continue
		}
		if in.clients() > 0 {
			lastClient = time.Now()
		} else if time.Since(lastClient) >= time.Duration(idleMS)*time.Millisecond {
			// Idle: deregister while holding the lock, so no client can
			// attach to an instance that is going away, then exit; the
			// kernel kills what is left in the PID namespace.
			unix.Unlinkat(int(runDir.Fd()), runFile, 0)
			return 0
		}
		unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	}
}

// initState is the init's table of sessions. One reaper collects every
// child, so a session's status is handed over through procs (or kept in
// early when the child ended before it was registered).
type initState struct {
	mu       sync.Mutex
	attached int
	procs    map[int]chan syscall.WaitStatus
	early    map[int]syscall.WaitStatus
}

func (in *initState) clients() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.attached
}

// reap collects every exited child: sessions and the orphans of the
// distribution, which are reparented to this PID 1.
func (in *initState) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		in.mu.Lock()
		if ch, ok := in.procs[pid]; ok {
			ch <- syscall.WaitStatus(ws)
			delete(in.procs, pid)
		} else {
			in.early[pid] = syscall.WaitStatus(ws)
		}
		in.mu.Unlock()
	}
}

// setupRoot makes the mount namespace private and chroots into rootfs
// with /proc of the new PID namespace, the host's /dev (for /dev/net/tun)
// and /sys, and a tmpfs /run, like a WSL2 distribution has.
func setupRoot(rootfs string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	mounts := []struct {
		src, dst, fstype string
		flags            uintptr
		must             bool
	}{
		{"proc", "proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, true},
		{"/dev", "dev", "", unix.MS_BIND | unix.MS_REC, true},
		{"/sys", "sys", "", unix.MS_BIND | unix.MS_REC, false},
		{"tmpfs", "run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, false},
	}
	for _, m := range mounts {
		dst := filepath.Join(rootfs, m.dst)
		if err := os.MkdirAll(dst, 0o755); err != nil && m.must {
			return err
		}
		if err := unix.Mount(m.src, dst, m.fstype, m.flags, ""); err != nil && m.must {
			return fmt.Errorf("mount %s: %w", dst, err)
		}
	}
	if err := unix.Chroot(rootfs); err != nil {
		return fmt.Errorf("chroot %s: %w", rootfs, err)
	}
	return os.Chdir("/")
}
