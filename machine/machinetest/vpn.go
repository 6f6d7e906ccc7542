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
// a dropped tunnel. Like the real agent, it numbers every change with a
// growing Generation and wakes the watchers.
func (b *Backend) SetVPN(name string, st agentapi.VPNStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.vpnGen++
	st.Generation = b.vpnGen
	b.vpn[name] = st
	if b.vpnChanged != nil {
		close(b.vpnChanged)
		b.vpnChanged = nil
	}
}

// VPNWatches counts the changes the fake agents handed out through
// VPNWatch, the daemon's long poll.
func (b *Backend) VPNWatches() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.vpnWatches
}

// vpnNext returns a guest's status and a channel closed at the next
// change.
func (b *Backend) vpnNext(name string) (agentapi.VPNStatus, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.vpnChanged == nil {
		b.vpnChanged = make(chan struct{})
	}
	st, ok := b.vpn[name]
	if !ok {
		st = agentapi.VPNStatus{State: agentapi.VPNDisconnected}
	}
	return st, b.vpnChanged
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

// VPNWatch answers as the agent's long poll does: the first status past
// generation after, or the current one once wait has passed.
func (a *agent) VPNWatch(ctx context.Context, after uint64, wait time.Duration) (agentapi.VPNStatus, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if err := a.alive(); err != nil {
			return agentapi.VPNStatus{}, err
		}
		st, changed := a.b.vpnNext(a.name())
		if st.Generation > after {
			a.b.mu.Lock()
			a.b.vpnWatches++
			a.b.mu.Unlock()
			return st, nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return st, nil
		case <-ctx.Done():
			return agentapi.VPNStatus{}, ctx.Err()
		}
	}
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
