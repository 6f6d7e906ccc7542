//go:build linux

package vpnlab

import (
	"testing"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
	guestvpn "github.com/velocitty/microvm/guest/vpn"
	"github.com/velocitty/microvm/vpn"
)

// The lab's client profile must be one the daemon accepts, and what the
// daemon renders from it must connect through the guest's supervisor: the
// path end-to-end tests take.
func TestRenderedProfileConnects(t *testing.T) {
	if _, err := lookPath("openvpn"); err != nil {
		t.Skip("openvpn not installed")
	}
	for _, proto := range []string{"udp", "tcp"} {
		t.Run(proto, func(t *testing.T) {
			lab := New(t, Options{Proto: proto})
			cfg, err := vpn.Parse([]byte(lab.ClientConfig))
			if err != nil {
				t.Fatalf("the daemon's parser refuses the lab profile: %v", err)
			}
			sup := guestvpn.New(guestvpn.Config{RuntimeDir: t.TempDir()})
			t.Cleanup(func() { sup.Close() })
			err = sup.Connect(t.Context(), agentapi.VPNConnect{
				Profile: "lab", Config: string(cfg.Render()), Username: lab.Username, Password: lab.Password,
			})
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.After(15 * time.Second)
			for {
				ch := sup.Changed()
				st := sup.Status()
				if st.State == agentapi.VPNConnected {
					break
				}
				if st.State == agentapi.VPNFailed {
					t.Fatalf("failed: %s", st.LastError)
				}
				select {
				case <-ch:
				case <-deadline:
					t.Fatalf("not connected after 15s: %+v", st)
				}
			}
		})
	}
}
