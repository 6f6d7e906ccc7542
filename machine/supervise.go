package machine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
)

// Delete removes a VM with everything it left. A running or paused VM is
// killed first; a VM with an operation under way is refused.
func (m *Manager) Delete(ctx context.Context, name string) error {
	m.mu.Lock()
	e, ok := m.vms[name]
	if !ok {
		m.mu.Unlock()
		return notFound(name)
	}
	if e.busy || e.vm.State == StateStarting || e.vm.State == StateStopping {
		m.mu.Unlock()
		return &errdefs.StateError{Op: "delete", Current: string(e.vm.State)}
	}
	e.busy = true
	vm := e.vm
	m.mu.Unlock()

	release := func() {
		m.mu.Lock()
		e.busy = false
		m.mu.Unlock()
	}
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	b, err := m.backend(ctx, vm.Backend)
	if err == nil {
		var spec Spec
		if spec, err = m.spec(vm); err == nil {
			err = b.Delete(opCtx, spec)
		}
	} else if vm.State == StateCreated || vm.State == StateStopped {
		// Never ran on this host: nothing but our own record to remove.
		err = nil
	}
	if err != nil {
		release()
		return fmt.Errorf("delete VM %s: %w", name, err)
	}
	if err := m.store.remove(name); err != nil {
		release()
		return err
	}
	m.mu.Lock()
	delete(m.vms, name)
	m.mu.Unlock()
	m.log.InfoContext(ctx, "vm deleted", "vm", name)
	m.events.Publish(Event{Type: EventVMDeleted, VM: name})
	return nil
}

// Exec runs a program in a running VM through its agent.
func (m *Manager) Exec(ctx context.Context, name string, req agentapi.ExecRequest) (agentapi.ExecResult, error) {
	a, err := m.agent(name, "exec")
	if err != nil {
		return agentapi.ExecResult{}, err
	}
	res, err := a.Exec(ctx, req)
	if err != nil {
		return agentapi.ExecResult{}, fmt.Errorf("exec in VM %s: %w", name, err)
	}
	return res, nil
}

// Logs returns up to limit recent log entries of a running VM's agent.
func (m *Manager) Logs(ctx context.Context, name string, limit int) ([]agentapi.LogEntry, error) {
	a, err := m.agent(name, "read logs of")
	if err != nil {
		return nil, err
	}
	logs, err := a.Logs(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("logs of VM %s: %w", name, err)
	}
	return logs, nil
}

// AgentEndpoint returns the address and token of a running VM's agent, for
// callers that speak to it directly (the shell relay).
func (m *Manager) AgentEndpoint(ctx context.Context, name string) (addr, token string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.vms[name]
	if !ok {
		return "", "", notFound(name)
	}
	if e.vm.State != StateRunning {
		return "", "", &errdefs.StateError{Op: "open a shell in", Current: string(e.vm.State)}
	}
	tok, err := m.store.token(name)
	if err != nil {
		return "", "", err
	}
	return e.vm.AgentAddress(), tok, nil
}

func (m *Manager) agent(name, op string) (Agent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.vms[name]
	if !ok {
		return nil, notFound(name)
	}
	if e.vm.State != StateRunning {
		return nil, &errdefs.StateError{Op: op, Current: string(e.vm.State)}
	}
	tok, err := m.store.token(name)
	if err != nil {
		return nil, err
	}
	return m.cfg.Agents(e.vm.AgentAddress(), tok), nil
}

// reattach reconciles a loaded record with what its backend observes: a
// guest that kept running while no daemon was there is adopted; one that
// died is reported as an error with the reason.
func (m *Manager) reattach(ctx context.Context, vm VM) {
	switch vm.State {
	case StateRunning, StatePaused, StateStarting, StateStopping:
	default:
		return
	}
	b, err := m.backend(ctx, vm.Backend)
	if err != nil {
		m.finish(ctx, vm.Name, StateError, err.Error())
		return
	}
	spec, err := m.spec(vm)
	if err != nil {
		m.finish(ctx, vm.Name, StateError, err.Error())
		return
	}
	st, err := b.Status(ctx, spec)
	var next State
	var reason string
	switch {
	case err != nil:
		next, reason = StateError, "re-attach: "+err.Error()
	case st.State == GuestRunning:
		next = StateRunning
	case st.State == GuestPaused:
		next = StatePaused
	case vm.State == StateStopping:
		next = StateStopped
	default:
		next, reason = StateError, "guest stopped while the daemon was not running"
		if st.Reason != "" {
			reason += ": " + st.Reason
		}
	}
	m.log.InfoContext(ctx, "vm re-attached", "vm", vm.Name, "recorded", vm.State, "observed", next)
	m.finish(ctx, vm.Name, next, reason)
}

// Run supervises running guests until ctx ends: each interval it pings the
// agent of every running VM and checks paused ones with their backend. A
// guest whose agent stopped answering turns to error with the reason;
// Start recovers it.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { m.watchVPN(ctx) })
	t := time.NewTicker(m.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			m.checkAll(ctx)
		}
	}
}

func (m *Manager) checkAll(ctx context.Context) {
	for _, vm := range m.List(ctx) {
		if vm.State == StateRunning || vm.State == StatePaused {
			m.check(ctx, vm)
		}
	}
}

func (m *Manager) check(ctx context.Context, vm VM) {
	b, err := m.backend(ctx, vm.Backend)
	if err != nil {
		return
	}
	spec, err := m.spec(vm)
	if err != nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var reason string
	st, err := b.Status(cctx, spec)
	switch {
	case err != nil:
		reason = "health check: " + err.Error()
	case st.State == GuestStopped:
		reason = "guest stopped unexpectedly"
		if st.Reason != "" {
			reason += ": " + st.Reason
		}
	case vm.State == StateRunning:
		if perr := m.cfg.Agents(vm.AgentAddress(), spec.Token).Ping(cctx); perr != nil {
			reason = "agent not answering: " + perr.Error()
		}
	}
	if reason == "" || ctx.Err() != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.vms[vm.Name]
	if !ok || e.busy || e.vm.State != vm.State {
		return // changed under us: the operation that changed it knows better
	}
	m.log.WarnContext(ctx, "vm unhealthy", "vm", vm.Name, "reason", reason)
	m.setLocked(ctx, e, StateError, reason)
}
