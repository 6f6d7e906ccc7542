// Package machinetest provides an in-memory machine.Backend and a matching
// agent for tests of the manager, the server and the client. The fake keeps
// the contract of a real backend (idempotent operations, observed state)
// without running anything.
package machinetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/machine"
)

// Backend is a fake machine.Backend. The zero value is not usable; call
// NewBackend.
type Backend struct {
	mu      sync.Mutex
	guests  map[string]machine.GuestState
	byAddr  map[string]string // agent address -> VM name
	calls   []string
	failing map[string]error // op -> error to return
	vpn     map[string]agentapi.VPNStatus
	unavail error

	vpnGen     uint64
	vpnChanged chan struct{} // closed at the next SetVPN
	vpnWatches int
}

// NewBackend returns a fake backend with no guests.
func NewBackend() *Backend {
	return &Backend{
		guests:  make(map[string]machine.GuestState),
		byAddr:  make(map[string]string),
		failing: make(map[string]error),
		vpn:     make(map[string]agentapi.VPNStatus),
	}
}

// Fail makes every later call of op ("start", "stop", ...) return err; a
// nil err clears it.
func (b *Backend) Fail(op string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		delete(b.failing, op)
		return
	}
	b.failing[op] = err
}

// SetUnavailable makes Available return err.
func (b *Backend) SetUnavailable(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.unavail = err
}

// SetGuest forces the observed state of a guest, e.g. to simulate a crash.
func (b *Backend) SetGuest(name string, s machine.GuestState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.guests[name] = s
}

// Guest returns the observed state of a guest.
func (b *Backend) Guest(name string) machine.GuestState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.guests[name]; ok {
		return s
	}
	return machine.GuestStopped
}

// Calls lists the operations performed, as "op name".
func (b *Backend) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

func (b *Backend) record(op string, s machine.Spec) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, op+" "+s.Name)
	return b.failing[op]
}

// Available implements machine.Backend.
func (b *Backend) Available(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.unavail
}

// Start implements machine.Backend.
func (b *Backend) Start(ctx context.Context, s machine.Spec) error {
	if err := b.record("start", s); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.guests[s.Name] = machine.GuestRunning
	b.byAddr[fmt.Sprintf("127.0.0.1:%d", s.AgentPort)] = s.Name
	return nil
}

// Stop implements machine.Backend.
func (b *Backend) Stop(ctx context.Context, s machine.Spec) error {
	return b.set("stop", s, machine.GuestStopped, "")
}

// Kill implements machine.Backend.
func (b *Backend) Kill(ctx context.Context, s machine.Spec) error {
	return b.set("kill", s, machine.GuestStopped, "")
}

// Pause implements machine.Backend.
func (b *Backend) Pause(ctx context.Context, s machine.Spec) error {
	return b.set("pause", s, machine.GuestPaused, machine.GuestRunning)
}

// Resume implements machine.Backend.
func (b *Backend) Resume(ctx context.Context, s machine.Spec) error {
	return b.set("resume", s, machine.GuestRunning, machine.GuestPaused)
}

func (b *Backend) set(op string, s machine.Spec, to, from machine.GuestState) error {
	if err := b.record(op, s); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, ok := b.guests[s.Name]
	if !ok {
		cur = machine.GuestStopped
	}
	if from != "" && cur != from && cur != to {
		return fmt.Errorf("%s: guest is %s: %w", op, cur, errdefs.ErrConflict)
	}
	b.guests[s.Name] = to
	if to == machine.GuestStopped {
		delete(b.vpn, s.Name) // the tunnel dies with the guest
	}
	return nil
}

// Status implements machine.Backend.
func (b *Backend) Status(ctx context.Context, s machine.Spec) (machine.Status, error) {
	if err := b.record("status", s); err != nil {
		return machine.Status{}, err
	}
	return machine.Status{State: b.Guest(s.Name)}, nil
}

// Delete implements machine.Backend.
func (b *Backend) Delete(ctx context.Context, s machine.Spec) error {
	if err := b.record("delete", s); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.guests, s.Name)
	return nil
}

// Agents is a machine.AgentDialer whose agents answer only while this
// backend reports their guest running.
func (b *Backend) Agents(addr, token string) machine.Agent {
	return &agent{b: b, addr: addr}
}

type agent struct {
	b    *Backend
	addr string
}

func (a *agent) alive() error {
	a.b.mu.Lock()
	name, ok := a.b.byAddr[a.addr]
	a.b.mu.Unlock()
	if !ok || a.b.Guest(name) != machine.GuestRunning {
		return fmt.Errorf("agent %s: connection refused: %w", a.addr, errdefs.ErrUnavailable)
	}
	return nil
}

func (a *agent) Ping(ctx context.Context) error { return a.alive() }

// Exec understands a few programs: echo, true, false and sleep; anything
// else exits 127 as a shell would for a missing command.
func (a *agent) Exec(ctx context.Context, req agentapi.ExecRequest) (agentapi.ExecResult, error) {
	if err := a.alive(); err != nil {
		return agentapi.ExecResult{}, err
	}
	if len(req.Argv) == 0 {
		return agentapi.ExecResult{}, errdefs.Invalidf("argv", "must not be empty")
	}
	switch req.Argv[0] {
	case "echo":
		return agentapi.ExecResult{Stdout: strings.Join(req.Argv[1:], " ") + "\n"}, nil
	case "cat":
		return agentapi.ExecResult{Stdout: req.Stdin}, nil
	case "true":
		return agentapi.ExecResult{}, nil
	case "false":
		return agentapi.ExecResult{ExitCode: 1}, nil
	case "sleep":
		d, _ := time.ParseDuration(strings.Join(req.Argv[1:], "") + "s")
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return agentapi.ExecResult{}, ctx.Err()
		}
		return agentapi.ExecResult{}, nil
	}
	return agentapi.ExecResult{ExitCode: 127, Stderr: req.Argv[0] + ": not found\n"}, nil
}

func (a *agent) Logs(ctx context.Context, limit int) ([]agentapi.LogEntry, error) {
	if err := a.alive(); err != nil {
		return nil, err
	}
	return []agentapi.LogEntry{{Time: time.Unix(0, 0).UTC(), Level: "info", Source: "agent", Message: "agent started"}}, nil
}
