package machine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
)

// opTimeout bounds one backend operation. Operations run detached from the
// caller's context so that a client hanging up mid-start cannot leave a
// guest half-started.
const opTimeout = 3 * time.Minute

// transition describes one lifecycle operation of the state machine.
type transition struct {
	name     string
	from     []State // states the operation may begin in
	harmless []State // states in which it is a no-op (already reached)
	via      State   // transitional state while it runs, if any
	to       State   // state on success
	run      func(ctx context.Context, b Backend, s Spec) error
}

var (
	opStart = transition{
		name: "start", from: []State{StateCreated, StateStopped, StateError},
		harmless: []State{StateRunning}, via: StateStarting, to: StateRunning,
		run: func(ctx context.Context, b Backend, s Spec) error { return b.Start(ctx, s) },
	}
	opStop = transition{
		name: "stop", from: []State{StateRunning, StatePaused, StateError},
		harmless: []State{StateStopped, StateCreated}, via: StateStopping, to: StateStopped,
		run: func(ctx context.Context, b Backend, s Spec) error { return b.Stop(ctx, s) },
	}
	opKill = transition{
		name: "kill", from: []State{StateRunning, StatePaused, StateError},
		harmless: []State{StateStopped, StateCreated}, to: StateStopped,
		run: func(ctx context.Context, b Backend, s Spec) error { return b.Kill(ctx, s) },
	}
	opPause = transition{
		name: "pause", from: []State{StateRunning},
		harmless: []State{StatePaused}, to: StatePaused,
		run: func(ctx context.Context, b Backend, s Spec) error { return b.Pause(ctx, s) },
	}
	opResume = transition{
		name: "resume", from: []State{StatePaused},
		harmless: []State{StateRunning}, to: StateRunning,
		run: func(ctx context.Context, b Backend, s Spec) error { return b.Resume(ctx, s) },
	}
)

// Start boots a VM and returns once its agent answers. Starting a running
// VM is a no-op.
func (m *Manager) Start(ctx context.Context, name string) (VM, error) {
	return m.apply(ctx, name, opStart)
}

// Stop shuts a VM down gracefully. Stopping a stopped VM is a no-op.
func (m *Manager) Stop(ctx context.Context, name string) (VM, error) {
	return m.apply(ctx, name, opStop)
}

// Kill ends every guest process at once.
func (m *Manager) Kill(ctx context.Context, name string) (VM, error) {
	return m.apply(ctx, name, opKill)
}

// Pause freezes every guest process.
func (m *Manager) Pause(ctx context.Context, name string) (VM, error) {
	return m.apply(ctx, name, opPause)
}

// Resume thaws a paused VM.
func (m *Manager) Resume(ctx context.Context, name string) (VM, error) {
	return m.apply(ctx, name, opResume)
}

func (m *Manager) apply(ctx context.Context, name string, t transition) (VM, error) {
	b, spec, prev, err := m.begin(ctx, name, t)
	if err != nil || b == nil {
		return prev, err
	}
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()

	if t.name == "start" && prev.State == StateError {
		// Clear whatever the failed guest left before booting it again.
		if err := b.Kill(opCtx, spec); err != nil {
			m.log.WarnContext(ctx, "clearing failed guest before start", "vm", name, "err", err)
		}
	}
	start := time.Now()
	runErr := t.run(opCtx, b, spec)
	if runErr == nil {
		m.log.InfoContext(ctx, "vm "+t.name, "vm", name, "took", time.Since(start).Round(time.Millisecond))
		vm := m.finish(ctx, name, t.to, "")
		switch t.to {
		case StateRunning:
			if t.name == "start" {
				m.reconnectVPN(opCtx, name)
			}
		case StateStopped:
			m.noteVPN(name, agentapi.VPNStatus{State: agentapi.VPNDisconnected, Profile: vm.VPNProfile})
		}
		return m.Get(ctx, name)
	}
	runErr = fmt.Errorf("%s VM %s: %w", t.name, name, runErr)
	m.log.WarnContext(ctx, "vm "+t.name+" failed", "vm", name, "err", runErr)
	m.finish(ctx, name, m.stateAfterFailure(opCtx, b, spec, t, prev.State, runErr), runErr.Error())
	return VM{}, runErr
}

// begin checks that t may run now and marks the VM busy. It returns a nil
// Backend (and the VM) when t is a harmless repeat.
func (m *Manager) begin(ctx context.Context, name string, t transition) (Backend, Spec, VM, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.vms[name]
	if !ok {
		return nil, Spec{}, VM{}, notFound(name)
	}
	if e.busy {
		return nil, Spec{}, VM{}, &errdefs.StateError{Op: t.name, Current: string(e.vm.State)}
	}
	if slices.Contains(t.harmless, e.vm.State) {
		return nil, Spec{}, e.vm, nil
	}
	if !slices.Contains(t.from, e.vm.State) {
		return nil, Spec{}, VM{}, &errdefs.StateError{Op: t.name, Current: string(e.vm.State)}
	}
	b, err := m.backend(ctx, e.vm.Backend)
	if err != nil {
		return nil, Spec{}, VM{}, fmt.Errorf("%s VM %s: %w", t.name, name, err)
	}
	if t.name == "start" {
		if err := b.Available(ctx); err != nil {
			return nil, Spec{}, VM{}, fmt.Errorf("start VM %s: backend %s: %w", name, e.vm.Backend, err)
		}
	}
	spec, err := m.spec(e.vm)
	if err != nil {
		return nil, Spec{}, VM{}, err
	}
	prev := e.vm
	e.busy = true
	if t.via != "" {
		m.setLocked(ctx, e, t.via, "")
	}
	return b, spec, prev, nil
}

// finish releases the VM and records its new state.
func (m *Manager) finish(ctx context.Context, name string, s State, reason string) VM {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.vms[name]
	if !ok {
		return VM{}
	}
	e.busy = false
	m.setLocked(ctx, e, s, reason)
	return e.vm
}

// stateAfterFailure decides what a failed operation leaves. A start refused
// for a precondition (port in use, backend unavailable) left nothing
// behind, so the VM keeps its previous state; otherwise the backend's view
// decides.
func (m *Manager) stateAfterFailure(ctx context.Context, b Backend, s Spec, t transition, prev State, err error) State {
	if t.name == "start" && (errors.Is(err, errdefs.ErrPortInUse) || errors.Is(err, errdefs.ErrUnavailable)) {
		return prev
	}
	st, serr := b.Status(ctx, s)
	if serr != nil {
		return StateError
	}
	switch {
	case t.name == "pause" && st.State == GuestRunning, t.name == "resume" && st.State == GuestPaused:
		return prev // nothing changed
	case st.State == GuestStopped && (t.name == "stop" || t.name == "kill"):
		return StateStopped
	}
	return StateError
}

// setLocked changes a VM's state, persists the record and emits an event.
// A failed write is logged; the in-memory state stays authoritative and is
// written again with the next change.
func (m *Manager) setLocked(ctx context.Context, e *entry, s State, reason string) {
	if e.vm.State == s && e.vm.Reason == reason {
		return
	}
	now := time.Now().UTC()
	if s == StateRunning && e.vm.State == StateStarting {
		e.vm.StartedAt = now
	}
	e.vm.State, e.vm.Reason, e.vm.UpdatedAt = s, reason, now
	if err := m.store.save(e.vm); err != nil {
		m.log.ErrorContext(ctx, "persisting VM state", "vm", e.vm.Name, "err", err)
	}
	m.events.Publish(Event{Type: EventVMState, VM: e.vm.Name, State: string(s), Reason: reason})
}

func (m *Manager) backend(ctx context.Context, name string) (Backend, error) {
	if b, ok := m.cfg.Backends[name]; ok {
		return b, nil
	}
	if reason, ok := m.cfg.Unavailable[name]; ok {
		return nil, fmt.Errorf("backend %s: %s: %w", name, reason, errdefs.ErrUnavailable)
	}
	return nil, fmt.Errorf("backend %s is not known to this daemon: %w", name, errdefs.ErrUnavailable)
}

func (m *Manager) spec(vm VM) (Spec, error) {
	tok, err := m.store.token(vm.Name)
	if err != nil {
		return Spec{}, err
	}
	return Spec{Name: vm.Name, Dir: m.store.dir(vm.Name), AgentPort: vm.AgentPort, SocksPort: vm.SocksPort, Token: tok}, nil
}
