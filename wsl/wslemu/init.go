package wslemu

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// runInit is a distribution's PID 1. Arguments: name, rootfs, run file,
// idle timeout in ms; fd 3 reports readiness ("ok" or the failure), fd 4
// is the state lock, fd 5 the directory of client files, fd 6 the
// directory of the run file (which the chroot hides).
func runInit(args []string) int {
	ready := os.NewFile(3, "ready")
	lock := os.NewFile(4, "lock")
	clients := os.NewFile(5, "clients")
	runDir := os.NewFile(6, "run")
	if len(args) != 4 {
		fmt.Fprintf(ready, "init: bad arguments %q", args)
		return 2
	}
	rootfs, runFile := args[1], filepath.Base(args[2])
	idleMS, _ := strconv.Atoi(args[3])
	if err := setupRoot(rootfs); err != nil {
		fmt.Fprintf(ready, "init: %v", err)
		return 1
	}
	ready.WriteString("ok")
	ready.Close()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastClient := time.Now()
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGTERM {
				return 0
			}
		case <-tick.C:
		}
		reap()
		if idleMS < 0 {
			continue
		}
		if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
			continue
		}
		if liveClients(clients) > 0 {
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

// reap collects every exited child: orphans of the distribution are
// reparented to this PID 1.
func reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// liveClients counts client files whose owner still holds their lock
// and removes the others. Call with the state lock held.
func liveClients(dir *os.File) int {
	if _, err := dir.Seek(0, 0); err != nil {
		return 0
	}
	names, _ := dir.Readdirnames(-1)
	n := 0
	for _, name := range names {
		fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) == nil {
			unix.Unlinkat(int(dir.Fd()), name, 0)
		} else {
			n++
		}
		unix.Close(fd)
	}
	return n
}
