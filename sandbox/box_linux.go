package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/velocitty/microvm/errdefs"
)

// Box is a started or attached box. Its methods are safe for concurrent use.
type Box struct {
	ref    Ref
	reaped chan struct{} // closed once a box this process started was reaped; nil after Attach
}

// Ref returns what Attach needs to find the box again.
func (b *Box) Ref() Ref { return b.ref }

// Attach finds a box again, e.g. after the process that started it was
// restarted. It fails with errdefs.ErrNotFound when the box's PID 1 is
// gone or its PID now belongs to another process (the start time differs).
func Attach(ref Ref) (*Box, error) {
	if ref.PID <= 0 {
		return nil, fmt.Errorf("attach box: pid %d: %w", ref.PID, errdefs.ErrInvalid)
	}
	if !live(ref) {
		return nil, fmt.Errorf("attach box %d: %w", ref.PID, errdefs.ErrNotFound)
	}
	if ref.Cgroup != "" {
		if _, err := openCgroup(ref.Cgroup); err != nil {
			return nil, fmt.Errorf("attach box %d: %w", ref.PID, err)
		}
	}
	return &Box{ref: ref}, nil
}

// Remove cleans up what a box that is gone left behind (its cgroup), and
// kills whatever still runs in that cgroup. Use it when Attach reports
// ErrNotFound; a cgroup already removed is fine.
func Remove(ctx context.Context, ref Ref) error {
	if ref.Cgroup == "" {
		return nil
	}
	cg, err := openCgroup(ref.Cgroup)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove box: %w", err)
	}
	if err := cg.kill(ctx); err != nil {
		return fmt.Errorf("remove box: %w", err)
	}
	if err := cg.remove(ctx); err != nil {
		return fmt.Errorf("remove box: %w", err)
	}
	return nil
}

// Alive reports whether the box's PID 1 still runs.
func (b *Box) Alive() bool { return live(b.ref) }

func (b *Box) cgroup() (*cgroup, error) {
	if b.ref.Cgroup == "" {
		return nil, fmt.Errorf("box %d has no cgroup: %w", b.ref.PID, errdefs.ErrUnsupported)
	}
	cg, err := openCgroup(b.ref.Cgroup)
	if err != nil {
		return nil, fmt.Errorf("box %d: %w", b.ref.PID, err)
	}
	return cg, nil
}

// Command returns a command that runs argv inside the box: in its
// namespaces, its root and its cgroup (so it is frozen and killed with the
// box). The caller sets Stdin, Stdout, Stderr and Env (the environment
// inside the box; set it, or the caller's environment is passed in).
// It needs nsenter from util-linux on the host. On a frozen box the
// command freezes too, until Thaw. The command runs in a process group
// of its own, and cancelling ctx kills that group: nsenter and the
// program it started inside the box (so it is not meant for a terminal's
// foreground job).
func (b *Box) Command(ctx context.Context, argv []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		cmd.Err = fmt.Errorf("run in box: nsenter (util-linux) is needed: %w", errors.Join(errdefs.ErrUnavailable, err))
		return cmd
	}
	if len(argv) == 0 {
		cmd.Err = errdefs.Invalidf("argv", "empty")
		return cmd
	}
	cmd.Args = append([]string{argv0Enter, b.ref.Cgroup, nsenter, strconv.Itoa(b.ref.PID), "--"}, argv...)
	// nsenter forks the program into the box's PID namespace and does
	// not pass signals on; the process group reaches both.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	return cmd
}

// Freeze stops every process of the box and returns once the kernel
// reports the box frozen.
func (b *Box) Freeze(ctx context.Context) error {
	cg, err := b.cgroup()
	if err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	if err := cg.freeze(ctx); err != nil {
		return fmt.Errorf("freeze box %d: %w", b.ref.PID, err)
	}
	return nil
}

// Thaw lets a frozen box run again and returns once the kernel reports it
// thawed.
func (b *Box) Thaw(ctx context.Context) error {
	cg, err := b.cgroup()
	if err != nil {
		return fmt.Errorf("thaw: %w", err)
	}
	if err := cg.thaw(ctx); err != nil {
		return fmt.Errorf("thaw box %d: %w", b.ref.PID, err)
	}
	return nil
}

// Frozen reports the kernel's view: true only once freezing completed.
func (b *Box) Frozen() (bool, error) {
	cg, err := b.cgroup()
	if err != nil {
		return false, err
	}
	return cg.frozen()
}

// Signal sends sig to the box's PID 1. A PID 1 ignores signals it has no
// handler for, except SIGKILL.
func (b *Box) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal %v: %w", sig, errdefs.ErrUnsupported)
	}
	return signalRef(b.ref, s)
}

// Wait blocks until every process of the box is gone or ctx ends.
func (b *Box) Wait(ctx context.Context) error {
	if b.reaped != nil {
		select {
		case <-b.reaped:
		case <-ctx.Done():
			return fmt.Errorf("wait for box %d: %w", b.ref.PID, errors.Join(errdefs.ErrTimeout, ctx.Err()))
		}
	} else if err := waitExit(ctx, b.ref); err != nil {
		return err
	}
	// The kernel kills the rest of a PID namespace when its PID 1 dies;
	// the cgroup empties once they are gone.
	if b.ref.Cgroup == "" {
		return nil
	}
	cg, err := openCgroup(b.ref.Cgroup)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return poll(ctx, "wait for box "+strconv.Itoa(b.ref.PID)+" to empty", cg.empty)
}

// Kill sends SIGKILL to every process of the box, frozen or not, and
// waits until they are gone.
func (b *Box) Kill(ctx context.Context) error {
	if err := signalRef(b.ref, unix.SIGKILL); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return fmt.Errorf("kill box: %w", err)
	}
	if b.ref.Cgroup != "" {
		cg, err := openCgroup(b.ref.Cgroup)
		if err == nil {
			err = cg.kill(ctx)
		}
		if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return fmt.Errorf("kill box %d: %w", b.ref.PID, err)
		}
	}
	return b.Wait(ctx)
}

// Destroy kills the box and removes its cgroup. Its mounts live in its own
// mount namespace and vanish with its last process; RootFS stays.
func (b *Box) Destroy(ctx context.Context) error {
	if err := b.Kill(ctx); err != nil {
		return err
	}
	if err := Remove(ctx, b.ref); err != nil {
		return fmt.Errorf("destroy box %d: %w", b.ref.PID, err)
	}
	return nil
}
