package machine

import (
	"context"
	"fmt"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
)

// Profiles is where the manager reads VPN profiles: the rendered, already
// validated configuration and the separately stored credentials.
type Profiles interface {
	Config(ctx context.Context, name string) ([]byte, error)
	Credentials(ctx context.Context, name string) (username, password string, err error)
}

// ConnectVPN selects a profile for a running VM: the agent starts openvpn
// and routes the VM's SOCKS5 proxy through the tunnel once it is up. The
// choice is remembered, so the VM reconnects it when it starts again.
func (m *Manager) ConnectVPN(ctx context.Context, name, profile string) (agentapi.VPNStatus, error) {
	if m.cfg.Profiles == nil {
		return agentapi.VPNStatus{}, fmt.Errorf("connect VPN: no profile store")
	}
	a, err := m.agent(name, "connect a VPN in")
	if err != nil {
		return agentapi.VPNStatus{}, err
	}
	st, err := m.connectVPN(ctx, a, profile)
	if err != nil {
		return agentapi.VPNStatus{}, fmt.Errorf("connect VPN %s in VM %s: %w", profile, name, err)
	}
	m.rememberVPN(ctx, name, profile)
	m.noteVPN(name, st)
	m.kickVPN()
	return st, nil
}

func (m *Manager) connectVPN(ctx context.Context, a Agent, profile string) (agentapi.VPNStatus, error) {
	cfg, err := m.cfg.Profiles.Config(ctx, profile)
	if err != nil {
		return agentapi.VPNStatus{}, err
	}
	user, pass, err := m.cfg.Profiles.Credentials(ctx, profile)
	if err != nil {
		return agentapi.VPNStatus{}, err
	}
	return a.VPNConnect(ctx, agentapi.VPNConnect{Profile: profile, Config: string(cfg), Username: user, Password: pass})
}

// DisconnectVPN stops a VM's tunnel; its proxy goes direct again.
func (m *Manager) DisconnectVPN(ctx context.Context, name string) (agentapi.VPNStatus, error) {
	a, err := m.agent(name, "disconnect the VPN of")
	if err != nil {
		return agentapi.VPNStatus{}, err
	}
	st, err := a.VPNDisconnect(ctx)
	if err != nil {
		return agentapi.VPNStatus{}, fmt.Errorf("disconnect VPN in VM %s: %w", name, err)
	}
	m.rememberVPN(ctx, name, "")
	m.noteVPN(name, st)
	return st, nil
}

// VPNStatus reports a VM's tunnel. A VM that is not running has none; its
// remembered profile is still reported.
func (m *Manager) VPNStatus(ctx context.Context, name string) (agentapi.VPNStatus, error) {
	vm, err := m.Get(ctx, name)
	if err != nil {
		return agentapi.VPNStatus{}, err
	}
	if vm.State != StateRunning {
		return agentapi.VPNStatus{State: agentapi.VPNDisconnected, Profile: vm.VPNProfile}, nil
	}
	a, err := m.agent(name, "read the VPN of")
	if err != nil {
		return agentapi.VPNStatus{}, err
	}
	st, err := a.VPNStatus(ctx)
	if err != nil {
		return agentapi.VPNStatus{}, fmt.Errorf("VPN status of VM %s: %w", name, err)
	}
	m.noteVPN(name, st)
	return st, nil
}

// reconnectVPN selects the remembered profile again after a start.
func (m *Manager) reconnectVPN(ctx context.Context, name string) {
	vm, err := m.Get(ctx, name)
	if err != nil || vm.VPNProfile == "" || m.cfg.Profiles == nil {
		return
	}
	a, err := m.agent(name, "connect a VPN in")
	if err != nil {
		return
	}
	st, err := m.connectVPN(ctx, a, vm.VPNProfile)
	if err != nil {
		m.log.WarnContext(ctx, "reconnecting VPN after start", "vm", name, "profile", vm.VPNProfile, "err", err)
		st = agentapi.VPNStatus{State: agentapi.VPNFailed, Profile: vm.VPNProfile, LastError: err.Error()}
	}
	m.noteVPN(name, st)
	m.kickVPN()
}

func (m *Manager) rememberVPN(ctx context.Context, name, profile string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.vms[name]
	if !ok || e.vm.VPNProfile == profile {
		return
	}
	e.vm.VPNProfile = profile
	e.vm.UpdatedAt = time.Now().UTC()
	if err := m.store.save(e.vm); err != nil {
		m.log.ErrorContext(ctx, "persisting VPN profile choice", "vm", name, "err", err)
	}
}

// vpnSeen is what an event last said of a VM's tunnel.
type vpnSeen struct {
	state   agentapi.VPNState
	retries int
	err     string
}

// noteVPN publishes a vpn.state event when a tunnel's state, retry count
// or error changed since the last one.
func (m *Manager) noteVPN(name string, st agentapi.VPNStatus) {
	seen := vpnSeen{state: st.State, retries: st.Retries, err: st.LastError}
	m.mu.Lock()
	prev, ok := m.vpn[name]
	if !ok {
		prev = vpnSeen{state: agentapi.VPNDisconnected}
	}
	m.vpn[name] = seen
	m.mu.Unlock()
	if prev == seen {
		return
	}
	m.events.Publish(Event{Type: EventVPNState, VM: name, State: string(st.State), Reason: st.LastError})
}
