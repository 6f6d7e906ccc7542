package machine

import "time"

// SetVPNReconcileInterval changes how often watchVPN looks for tunnels,
// for a test that must not depend on that round; call before Run.
func SetVPNReconcileInterval(d time.Duration) (restore func()) {
	old := vpnReconcileInterval
	vpnReconcileInterval = d
	return func() { vpnReconcileInterval = old }
}

// VPNRounds is how many rounds watchVPN has made.
func VPNRounds(m *Manager) int64 { return m.vpnRounds.Load() }
