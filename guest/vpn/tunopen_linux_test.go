package vpn

import (
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/internal/vpnlab"
)

// tunsAppearing records the tun devices that appear in the test's own
// network namespace (the agent's) until the test ends.
func tunsAppearing(t *testing.T) func() []string {
	t.Helper()
	updates := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	if err := netlink.LinkSubscribe(updates, done); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(done) })
	return func() []string {
		var names []string
		for {
			select {
			case u := <-updates:
				if _, ok := u.Link.(*netlink.Tuntap); ok && u.Header.Type == 16 { // RTM_NEWLINK
					names = append(names, u.Link.Attrs().Name)
				}
			default:
				return names
			}
		}
	}
}

// TestTunBornInTunnelNamespace: started from a filtered thread, openvpn's
// tun device is made inside the tunnel namespace and never appears in the
// agent's namespace, the one every WSL2 distro shares.
func TestTunBornInTunnelNamespace(t *testing.T) {
	skipUnlessOpenVPN(t)
	lab := vpnlab.New(t, vpnlab.Options{})
	seen := tunsAppearing(t)
	sup := newSupervisor(t, Config{})
	if err := sup.Connect(t.Context(), connectReq(lab)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))
	if _, err := getBody(httpVia(sup.DialContext), "http://"+lab.HTTPAddr.String()+"/ip"); err != nil {
		t.Fatalf("through the tunnel: %v", err)
	}
	if names := seen(); len(names) != 0 {
		t.Fatalf("tun devices appeared in the agent's namespace: %v", names)
	}
	if !strings.Contains(logText(sup), "vpn_tun_opened_in_namespace") {
		t.Fatalf("the supervisor did not open the device for openvpn:\n%s", logText(sup))
	}
	// Only read-write opens reach the supervisor: the tun device's, not
	// the dynamic loader's or OpenSSL's dozens.
	sup.Close()
	if !strings.Contains(logText(sup), "notified=1 opened=1") {
		t.Fatalf("the filter handed over other calls than the tun device's:\n%s", logText(sup))
	}
}

// TestConnectMovingTheDevice: without the filter, openvpn makes
// its device in the agent's namespace and the supervisor moves it. This
// also shows that tunsAppearing sees such a device.
func TestConnectMovingTheDevice(t *testing.T) {
	skipUnlessOpenVPN(t)
	lab := vpnlab.New(t, vpnlab.Options{})
	seen := tunsAppearing(t)
	sup := newSupervisor(t, Config{MoveTun: true})
	if err := sup.Connect(t.Context(), connectReq(lab)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))
	if _, err := getBody(httpVia(sup.DialContext), "http://"+lab.HTTPAddr.String()+"/ip"); err != nil {
		t.Fatalf("through the tunnel: %v", err)
	}
	if names := seen(); len(names) == 0 {
		t.Fatal("no tun device appeared in the agent's namespace before the move")
	}
}
