package machine

import (
	"context"
	"sync"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
)

// vpnReconcileInterval is how often watchVPN looks for tunnels to follow
// or to stop following, and how long a watcher waits after an error before
// asking again. A variable for tests.
var vpnReconcileInterval = 500 * time.Millisecond

// vpnWatchWait is how long one long poll of an agent may wait.
const vpnWatchWait = 25 * time.Second

// vpnWatcher is an agent that can wait for its tunnel to change; agents
// without it are polled.
type vpnWatcher interface {
	VPNWatch(ctx context.Context, after uint64, wait time.Duration) (agentapi.VPNStatus, error)
}

// watchVPN follows the tunnel of every running VM that has a profile
// selected (or had one), so that every change the agent makes on its own
// (reconnecting, connected again, failed) becomes an event as it happens.
// It runs one watcher per such VM and stops them all when ctx ends.
func (m *Manager) watchVPN(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	watching := map[string]context.CancelFunc{}
	t := time.NewTicker(vpnReconcileInterval)
	defer t.Stop()
	for {
		want := map[string]bool{}
		for _, vm := range m.List(ctx) {
			m.mu.Lock()
			_, seen := m.vpn[vm.Name]
			m.mu.Unlock()
			if vm.State == StateRunning && (vm.VPNProfile != "" || seen) {
				want[vm.Name] = true
			}
		}
		for name, cancel := range watching {
			if !want[name] {
				cancel()
				delete(watching, name)
			}
		}
		for name := range want {
			if _, ok := watching[name]; !ok {
				wctx, cancel := context.WithCancel(ctx)
				watching[name] = cancel
				wg.Go(func() { m.followVPN(wctx, name) })
			}
		}
		m.vpnRounds.Add(1)
		select {
		case <-ctx.Done():
			for _, cancel := range watching {
				cancel()
			}
			return
		case <-t.C:
		case <-m.vpnKick:
		}
	}
}

// kickVPN makes watchVPN follow a tunnel just selected without waiting
// for its next round, so that the first change is an event at once too.
func (m *Manager) kickVPN() {
	select {
	case m.vpnKick <- struct{}{}:
	default:
	}
}

// followVPN turns a VM's tunnel changes into events until ctx ends: with
// the agent's long poll when it has one, by polling otherwise.
func (m *Manager) followVPN(ctx context.Context, name string) {
	var gen uint64
	for ctx.Err() == nil {
		st, err := m.nextVPN(ctx, name, gen)
		if err != nil {
			if ctx.Err() == nil {
				m.log.DebugContext(ctx, "following VPN status", "vm", name, "err", err)
			}
			sleep(ctx, vpnReconcileInterval)
			continue
		}
		m.noteVPN(name, st)
		gen = st.Generation
	}
}

// nextVPN returns the VM's tunnel status once it changed past gen (or the
// watch timed out), or after one poll interval for agents that cannot
// wait.
func (m *Manager) nextVPN(ctx context.Context, name string, gen uint64) (agentapi.VPNStatus, error) {
	a, err := m.agent(name, "follow the VPN of")
	if err != nil {
		return agentapi.VPNStatus{}, err
	}
	w, ok := a.(vpnWatcher)
	if !ok {
		sleep(ctx, vpnReconcileInterval)
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return a.VPNStatus(cctx)
	}
	cctx, cancel := context.WithTimeout(ctx, vpnWatchWait+5*time.Second)
	defer cancel()
	return w.VPNWatch(cctx, gen, vpnWatchWait)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
