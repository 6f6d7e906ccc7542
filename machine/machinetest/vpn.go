package machinetest

import (
	"context"
	"strings"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
)

// VPN returns the tunnel state the fake agent of a guest reports.
func (b *Backend) VPN(name string) agentapi.VPNStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st, ok := b.vpn[name]; ok {
		return st
	}
	return agentapi.VPNStatus{State: agentapi.VPNDisconnected}
}

// SetVPN forces the tunnel state a guest's agent reports, e.g. to simulate
// a dropped tunnel.
func (b *Backend) SetVPN(name string, st agentapi.VPNStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.vpn[name] = st
}

func (a *agent) name() string {
	a.b.mu.Lock()
	defer a.b.mu.Unlock()
	return a.b.byAddr[a.addr]
}

func (a *agent) VPNStatus(ctx context.Context) (agentapi.VPNStatus, error) {
	if err := a.alive(); err != nil {
		return agentapi.VPNStatus{}, err
	}
	return a.b.VPN(a.name()), nil
}

// VPNConnect connects at once; a config without a "remote" line is
// refused as the real agent refuses an unusable profile.
func (a *agent) VPNConnect(ctx context.Context, req agentapi.VPNConnect) (agentapi.VPNStatus, error) {
	if err := a.alive(); err != nil {
		return agentapi.VPNStatus{}, err
	}
	if !strings.Contains(req.Config, "remote ") {
		return agentapi.VPNStatus{}, errdefs.Invalidf("config", "no remote")
	}
	st := agentapi.VPNStatus{State: agentapi.VPNConnected, Profile: req.Profile, TunnelIPv4: "10.8.0.2", Since: time.Now().UTC()}
	a.b.SetVPN(a.name(), st)
	return st, nil
}

func (a *agent) VPNDisconnect(ctx context.Context) (agentapi.VPNStatus, error) {
	if err := a.alive(); err != nil {
		return agentapi.VPNStatus{}, err
	}
	st := agentapi.VPNStatus{State: agentapi.VPNDisconnected, Since: time.Now().UTC()}
	a.b.SetVPN(a.name(), st)
	return st, nil
}
