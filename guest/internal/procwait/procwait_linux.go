//go:build linux

package procwait

import (
	"os"

	"golang.org/x/sys/unix"
)

// Exited returns once the process pid, a child of the caller that has not
// been waited for, has ended; it does not reap it. Where pidfds or their
// polling are missing it returns at once, and the caller's own wait
// blocks as it would have.
func Exited(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// A pidfd turns readable when its process ends. Read checks with a
	// zero-timeout poll, and between checks the poller waits for that edge.
	rc.Read(func(fd uintptr) bool {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(p, 0)
		return err != unix.EINTR && (err != nil || n > 0)
	})
}
