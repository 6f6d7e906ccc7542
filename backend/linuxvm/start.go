package linuxvm

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/sandbox"
)

var validHostname = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Start boots the guest: unpack on first start, deploy the agent and the
// token, start the box and wait for the agent's ping. A failed start
// leaves nothing running.
func (b *Backend) Start(ctx context.Context, s machine.Spec) error {
	if err := validSpec(s); err != nil {
		return err
	}
	defer b.lock(s)()
	begin := time.Now()

	if ok, err := b.alreadyRunning(ctx, s); ok || err != nil {
		return err
	}
	if err := checkPorts(s); err != nil {
		return err
	}
	if err := b.ensureRootfs(ctx, s); err != nil {
		return err
	}
	if err := b.deployAgent(ctx, s); err != nil {
		return err
	}
	if err := writeToken(s); err != nil {
		return err
	}
	rotateLog(s)

	provisioned := time.Now()
	box, err := sandbox.Start(ctx, sandbox.Config{
		ID:       boxID(s),
		RootFS:   rootfsDir(s),
		Hostname: hostname(s),
		Argv: []string{GuestAgentPath, "init", "--", "serve",
			"--control-addr", "127.0.0.1:" + strconv.Itoa(s.AgentPort),
			"--socks-addr", "127.0.0.1:" + strconv.Itoa(s.SocksPort),
			"--token-file", GuestTokenPath},
		Env:     []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"},
		LogPath: filepath.Join(s.Dir, agentLogName),
	})
	if err != nil {
		return fmt.Errorf("start VM %s: %w", s.Name, err)
	}
	fail := func(err error) error {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		err = errors.Join(err, box.Destroy(cctx), removeBox(s))
		if tail := logTail(s); tail != "" {
			err = fmt.Errorf("%w\nagent log:\n%s", err, tail)
		}
		return err
	}
	boxed := time.Now()
	if err := writeBox(s, boxFile{Box: box.Ref(), AgentPort: s.AgentPort, SocksPort: s.SocksPort, StartedAt: time.Now().UTC()}); err != nil {
		return fail(fmt.Errorf("start VM %s: %w", s.Name, err))
	}
	if err := b.waitReady(ctx, s, box); err != nil {
		return fail(fmt.Errorf("start VM %s: %w", s.Name, err))
	}
	b.log.InfoContext(ctx, "guest_started", "vm", s.Name, "pid", box.Ref().PID,
		"total_ms", ms(time.Since(begin)), "provision_ms", ms(provisioned.Sub(begin)),
		"box_ms", ms(boxed.Sub(provisioned)), "agent_ms", ms(time.Since(boxed)))
	return nil
}

// alreadyRunning reports whether the VM's box runs with an agent that
// answers. A dead box's leftovers are cleaned up; a paused one is a
// conflict; a box whose agent does not answer is killed, to start afresh.
func (b *Backend) alreadyRunning(ctx context.Context, s machine.Spec) (bool, error) {
	box, f, err := attach(ctx, s)
	if isGone(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if frozen, err := box.Frozen(); err == nil && frozen {
		return false, &errdefs.StateError{Op: "start", Current: string(machine.GuestPaused)}
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := agentAt(f.AgentPort, s.Token).Ping(pctx); err == nil && f.AgentPort == s.AgentPort && f.SocksPort == s.SocksPort {
		return true, nil
	}
	b.log.WarnContext(ctx, "guest_unresponsive_restart", "vm", s.Name, "pid", box.Ref().PID)
	return false, b.destroy(ctx, s, box)
}

// waitReady polls the agent until it answers, the box dies or the start
// timeout passes. Polls are 1 to 5 ms apart: the agent is up within
// milliseconds, and a refused connection costs next to nothing.
func (b *Backend) waitReady(ctx context.Context, s machine.Spec, box *sandbox.Box) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.StartTimeout)
	defer cancel()
	agent := agentAt(s.AgentPort, s.Token)
	interval := time.Millisecond
	for {
		err := agent.Ping(ctx)
		if err == nil {
			return nil
		}
		if !box.Alive() {
			return fmt.Errorf("the agent exited before it answered: %w", errdefs.ErrUnavailable)
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for the agent: %w (last: %v)", errdefs.ErrTimeout, err)
		case <-t.C:
		}
		interval = min(2*interval, 5*time.Millisecond)
	}
}

// hostname is the guest's host name: the VM's name when it is a valid
// one, else "microvm".
func hostname(s machine.Spec) string {
	if validHostname.MatchString(s.Name) {
		return s.Name
	}
	return "microvm"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
