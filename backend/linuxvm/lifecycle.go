package linuxvm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/sandbox"
)

// attach finds the VM's running box from box.json. ErrNotFound means it
// is not running; a box that died is cleaned up on the way.
func attach(ctx context.Context, s machine.Spec) (*sandbox.Box, boxFile, error) {
	f, err := readBox(s)
	if err != nil {
		return nil, f, err
	}
	box, err := sandbox.Attach(f.Box)
	if isGone(err) {
		// The guest ended on its own (or the host rebooted): drop what
		// it left behind.
		if rerr := errors.Join(sandbox.Remove(ctx, f.Box), removeBox(s)); rerr != nil {
			return nil, f, rerr
		}
		return nil, f, err
	}
	return box, f, err
}

// Stop asks the agent to shut down, sends SIGTERM to the box's init when
// it does not, and SIGKILL to everything after another grace period.
func (b *Backend) Stop(ctx context.Context, s machine.Spec) error {
	if err := validSpec(s); err != nil {
		return err
	}
	defer b.lock(s)()
	box, f, err := attach(ctx, s)
	if isGone(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop VM %s: %w", s.Name, err)
	}
	// A frozen agent cannot hear the request.
	if err := box.Thaw(ctx); err != nil {
		return fmt.Errorf("stop VM %s: %w", s.Name, err)
	}
	begin := time.Now()
	how := "agent"
	sctx, cancel := context.WithTimeout(ctx, b.cfg.StopGrace)
	err = agentAt(f.AgentPort, s.Token).Shutdown(sctx)
	if err == nil {
		err = box.Wait(sctx)
	}
	cancel()
	if err != nil {
		how = "sigterm"
		b.log.InfoContext(ctx, "guest_stop_escalate", "vm", s.Name, "signal", "SIGTERM", "error", err)
		if err := box.Signal(syscall.SIGTERM); err != nil && !isGone(err) {
			return fmt.Errorf("stop VM %s: %w", s.Name, err)
		}
		sctx, cancel := context.WithTimeout(ctx, b.cfg.StopGrace)
		err = box.Wait(sctx)
		cancel()
		if err != nil {
			how = "sigkill"
			b.log.WarnContext(ctx, "guest_stop_escalate", "vm", s.Name, "signal", "SIGKILL")
		}
	}
	if err := b.destroy(ctx, s, box); err != nil {
		return fmt.Errorf("stop VM %s: %w", s.Name, err)
	}
	b.log.InfoContext(ctx, "guest_stopped", "vm", s.Name, "by", how, "duration_ms", time.Since(begin).Milliseconds())
	return nil
}

// destroy kills whatever is left of the box, removes its cgroup and
// forgets it.
func (b *Backend) destroy(ctx context.Context, s machine.Spec, box *sandbox.Box) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := box.Destroy(ctx); err != nil {
		return err
	}
	return removeBox(s)
}

// Kill ends every guest process at once.
func (b *Backend) Kill(ctx context.Context, s machine.Spec) error {
	if err := validSpec(s); err != nil {
		return err
	}
	defer b.lock(s)()
	box, _, err := attach(ctx, s)
	if isGone(err) {
		return nil
	}
	if err == nil {
		err = b.destroy(ctx, s, box)
	}
	if err != nil {
		return fmt.Errorf("kill VM %s: %w", s.Name, err)
	}
	return nil
}

// Pause freezes every guest process.
func (b *Backend) Pause(ctx context.Context, s machine.Spec) error {
	return b.freeze(ctx, s, "pause", (*sandbox.Box).Freeze)
}

// Resume thaws a paused guest.
func (b *Backend) Resume(ctx context.Context, s machine.Spec) error {
	return b.freeze(ctx, s, "resume", (*sandbox.Box).Thaw)
}

func (b *Backend) freeze(ctx context.Context, s machine.Spec, op string, do func(*sandbox.Box, context.Context) error) error {
	if err := validSpec(s); err != nil {
		return err
	}
	defer b.lock(s)()
	box, _, err := attach(ctx, s)
	if isGone(err) {
		return &errdefs.StateError{Op: op, Current: string(machine.GuestStopped)}
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err = do(box, ctx)
	}
	if err != nil {
		return fmt.Errorf("%s VM %s: %w", op, s.Name, err)
	}
	return nil
}

// Status reports the guest's true state: stopped without a live box,
// paused only when the kernel reports its cgroup frozen.
func (b *Backend) Status(ctx context.Context, s machine.Spec) (machine.Status, error) {
	if err := validSpec(s); err != nil {
		return machine.Status{}, err
	}
	defer b.lock(s)()
	hadBox := true
	if _, err := os.Stat(boxPath(s)); errors.Is(err, os.ErrNotExist) {
		hadBox = false
	}
	box, _, err := attach(ctx, s)
	if isGone(err) {
		st := machine.Status{State: machine.GuestStopped}
		if hadBox {
			st.Reason = "the guest's init exited"
		}
		return st, nil
	}
	if err != nil {
		return machine.Status{}, fmt.Errorf("status of VM %s: %w", s.Name, err)
	}
	frozen, err := box.Frozen()
	if err != nil {
		return machine.Status{}, fmt.Errorf("status of VM %s: %w", s.Name, err)
	}
	if frozen {
		return machine.Status{State: machine.GuestPaused}, nil
	}
	return machine.Status{State: machine.GuestRunning}, nil
}

// Delete kills the guest and removes its directory with everything in it.
func (b *Backend) Delete(ctx context.Context, s machine.Spec) error {
	if err := b.Kill(ctx, s); err != nil {
		return err
	}
	defer b.lock(s)()
	if err := os.RemoveAll(s.Dir); err != nil {
		return fmt.Errorf("delete VM %s: %w", s.Name, err)
	}
	b.mu.Lock()
	delete(b.locks, s.Dir)
	b.mu.Unlock()
	return nil
}
