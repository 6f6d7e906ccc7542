package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/velocitty/microvm/errdefs"
)

// procStat is what the package needs of /proc/PID/stat.
type procStat struct {
	state     byte
	startTime uint64
}

// readStat reads /proc/PID/stat. A missing process is errdefs.ErrNotFound.
func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return procStat{}, fmt.Errorf("process %d: %w", pid, errdefs.ErrNotFound)
	}
	if err != nil {
		return procStat{}, fmt.Errorf("read stat of process %d: %w", pid, err)
	}
	return parseStat(data)
}

// parseStat parses the contents of /proc/PID/stat. The command name, field
// 2, is in parentheses and may itself hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStat(data []byte) (procStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse stat %q: no command field: %w", data, errdefs.ErrInternal)
	}
	fields := bytes.Fields(data[i+1:])
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("parse stat %q: too few fields: %w", data, errdefs.ErrInternal)
	}
	start, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("parse stat start time: %w", errors.Join(errdefs.ErrInternal, err))
	}
	return procStat{state: fields[0][0], startTime: start}, nil
}

// live reports whether the process that ref names still runs: same PID,
// same start time, and not a zombie waiting to be reaped.
func live(ref Ref) bool {
	st, err := readStat(ref.PID)
	return err == nil && st.startTime == ref.StartTime && st.state != 'Z' && st.state != 'X'
}

// openPidfd returns a pidfd for the process ref names, or ErrNotFound when
// that process is gone. The start time is checked after the pidfd is open,
// so the descriptor cannot refer to a process that reused the PID.
func openPidfd(ref Ref) (int, error) {
	fd, err := unix.PidfdOpen(ref.PID, 0)
	if errors.Is(err, unix.ESRCH) {
		return -1, fmt.Errorf("box process %d: %w", ref.PID, errdefs.ErrNotFound)
	}
	if err != nil {
		return -1, fmt.Errorf("pidfd_open %d: %w", ref.PID, err)
	}
	st, err := readStat(ref.PID)
	if err == nil && st.startTime != ref.StartTime {
		err = fmt.Errorf("box process %d: pid reused: %w", ref.PID, errdefs.ErrNotFound)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// signalRef sends sig to the process ref names; ErrNotFound when it is gone.
func signalRef(ref Ref, sig unix.Signal) error {
	fd, err := openPidfd(ref)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal box process %d: %w", ref.PID, errdefs.ErrNotFound)
		}
		return fmt.Errorf("signal box process %d: %w", ref.PID, err)
	}
	return nil
}

// waitExit blocks until the process ref names has exited (a zombie counts
// as exited) or ctx ends.
func waitExit(ctx context.Context, ref Ref) error {
	fd, err := openPidfd(ref)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for {
		// A pidfd polls readable once the process has exited. Poll in
		// slices so that a cancelled ctx is noticed.
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 50)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("wait for box process %d: %w", ref.PID, err)
		}
		if n > 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("wait for box process %d: %w", ref.PID, errors.Join(errdefs.ErrTimeout, err))
		}
	}
}

// poll calls cond until it reports true, returns an error, or ctx ends.
// Intervals grow from 1 ms to 20 ms: fast for kernel state that settles in
// microseconds, cheap for slower waits.
func poll(ctx context.Context, what string, cond func() (bool, error)) error {
	interval := time.Millisecond
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, errors.Join(errdefs.ErrTimeout, ctx.Err()))
		case <-t.C:
		}
		interval = min(2*interval, 20*time.Millisecond)
	}
}
