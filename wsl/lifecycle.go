package wsl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/machine"
)

// stopGrace is how long Stop waits for the agent to exit by itself
// before terminating the distribution.
const stopGrace = 10 * time.Second

// clockSkewMax is the guest clock error tolerated on resume, in seconds.
const clockSkewMax = 2

// Stop implements machine.Backend: the agent is asked to shut down (it
// stops the VPN and its children), then the distribution is terminated.
func (b *Backend) Stop(ctx context.Context, s machine.Spec) error {
	name, err := distroFor(s)
	if err != nil {
		return err
	}
	d, err := b.run.Find(ctx, name)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop %s: %w", s.Name, err)
	}
	if d.State == StateRunning {
		agent := agentAt(s.AgentPort, s.Token)
		if agent.Shutdown(ctx) == nil {
			gctx, cancel := context.WithTimeout(ctx, stopGrace)
			waitGone(gctx, agent)
			cancel()
		}
	}
	return b.Kill(ctx, s)
}

// Kill implements machine.Backend: "wsl --terminate" ends every process
// of the distribution at once (never "--shutdown", which would end every
// distribution on the machine).
func (b *Backend) Kill(ctx context.Context, s machine.Spec) error {
	name, err := distroFor(s)
	if err != nil {
		return err
	}
	if err := b.run.Terminate(ctx, name); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return fmt.Errorf("kill %s: %w", s.Name, err)
	}
	b.joinKeepAlive(ctx, name)
	return nil
}

// Pause implements machine.Backend by stopping every guest process with
// SIGSTOP (see scriptFreeze for why not the cgroup freezer).
func (b *Backend) Pause(ctx context.Context, s machine.Spec) error {
	name, err := b.runningDistro(ctx, s, "pause")
	if err != nil {
		return err
	}
	if _, _, err := b.run.Exec(ctx, name, "root", nil, "/bin/sh", "-c", scriptFreeze, "sh", "STOP"); err != nil {
		b.thaw(ctx, name) // leave nothing half frozen
		return fmt.Errorf("pause %s: %w", s.Name, err)
	}
	return nil
}

// Resume implements machine.Backend: thaw every guest process, then set
// the guest clock from the host's, which sleep may have left behind.
func (b *Backend) Resume(ctx context.Context, s machine.Spec) error {
	name, err := b.runningDistro(ctx, s, "resume")
	if err != nil {
		return err
	}
	if err := b.thaw(ctx, name); err != nil {
		return fmt.Errorf("resume %s: %w", s.Name, err)
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	if _, _, err := b.run.Exec(ctx, name, "root", nil, "/bin/sh", "-c", scriptClock, "sh", now, strconv.Itoa(clockSkewMax)); err != nil {
		// A wrong clock is worth a warning, not a failed resume.
		b.log.WarnContext(ctx, "wsl_clock_sync_failed", "distro", name, "err", err)
	}
	return nil
}

func (b *Backend) thaw(ctx context.Context, name string) error {
	_, _, err := b.run.Exec(ctx, name, "root", nil, "/bin/sh", "-c", scriptFreeze, "sh", "CONT")
	return err
}

// runningDistro returns the distribution of s if it is running, else a
// conflict error: pausing or resuming must not boot a stopped guest.
func (b *Backend) runningDistro(ctx context.Context, s machine.Spec, op string) (string, error) {
	name, err := distroFor(s)
	if err != nil {
		return "", err
	}
	d, err := b.run.Find(ctx, name)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", op, s.Name, err)
	}
	if d.State != StateRunning {
		return "", fmt.Errorf("%s %s: %w", op, s.Name, &errdefs.StateError{Op: op, Current: "stopped"})
	}
	return name, nil
}

// Status implements machine.Backend: the distribution must be Running per
// "wsl -l -v" and the agent must answer; an agent that does not answer
// while every guest process is stopped is a paused guest.
func (b *Backend) Status(ctx context.Context, s machine.Spec) (machine.Status, error) {
	name, err := distroFor(s)
	if err != nil {
		return machine.Status{}, err
	}
	d, err := b.run.Find(ctx, name)
	if errors.Is(err, errdefs.ErrNotFound) {
		return machine.Status{State: machine.GuestStopped, Reason: "no WSL distribution " + name}, nil
	}
	if err != nil {
		return machine.Status{}, fmt.Errorf("status %s: %w", s.Name, err)
	}
	if d.State != StateRunning {
		return machine.Status{State: machine.GuestStopped, Reason: "distribution " + strings.ToLower(d.State)}, nil
	}
	if agentAt(s.AgentPort, s.Token).Ping(ctx) == nil {
		return machine.Status{State: machine.GuestRunning}, nil
	}
	out, _, err := b.run.Exec(ctx, name, "root", nil, "/bin/sh", "-c", scriptFreeze, "sh", "", "check")
	if err == nil && strings.TrimSpace(string(out)) == "frozen" {
		return machine.Status{State: machine.GuestPaused}, nil
	}
	return machine.Status{State: machine.GuestStopped, Reason: "distribution running but the agent does not answer"}, nil
}

// Delete implements machine.Backend: terminate, unregister (which deletes
// the disk) and remove the backend's files from the VM directory.
func (b *Backend) Delete(ctx context.Context, s machine.Spec) error {
	name, err := distroFor(s)
	if err != nil {
		return err
	}
	if err := b.Kill(ctx, s); err != nil {
		return fmt.Errorf("delete %s: %w", s.Name, err)
	}
	if err := b.run.Unregister(ctx, name); err != nil {
		return fmt.Errorf("delete %s: %w", s.Name, err)
	}
	for _, p := range []string{diskDirName, agentLogName} {
		if err := os.RemoveAll(filepath.Join(s.Dir, p)); err != nil {
			return fmt.Errorf("delete %s: %w", s.Name, err)
		}
	}
	return nil
}
