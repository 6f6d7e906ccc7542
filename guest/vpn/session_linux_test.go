package vpn

import (
	"testing"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
)

// A drop after a healthy connection starts the backoff and the retry count
// over; a drop soon after connecting keeps counting.
func TestDownResetsAfterHealthyPeriod(t *testing.T) {
	sup := New(Config{HealthyAfter: time.Minute})
	s := &session{sup: sup, bo: backoff{min: time.Second, max: time.Minute}}
	sup.sess = s
	s.everUp = true

	s.retries, s.bo.n = 4, 4
	s.connectedAt = time.Now().Add(-2 * time.Minute)
	s.down("ping-restart")
	if st := sup.Status(); s.retries != 1 || s.bo.n != 0 || st.Retries != 1 || st.State != agentapi.VPNReconnecting {
		t.Errorf("after a healthy period: retries %d, backoff step %d, status %+v", s.retries, s.bo.n, st)
	}

	s.retries, s.bo.n = 4, 4
	s.connectedAt = time.Now().Add(-time.Second)
	s.down("ping-restart")
	if s.retries != 5 || s.bo.n != 4 {
		t.Errorf("after a short connection: retries %d, backoff step %d", s.retries, s.bo.n)
	}
	if st := sup.Status(); st.LastError != "ping-restart" || st.TunnelIPv4 != "" {
		t.Errorf("status %+v", st)
	}
}
