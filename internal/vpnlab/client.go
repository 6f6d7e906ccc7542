//go:build linux

package vpnlab

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// BareClient is a plain openvpn client that configures its own tun device
// and routes, in a namespace of its own: the baseline the supervisor is
// measured against.
type BareClient struct {
	NS          string        // the client's namespace; dial from it with DialIn
	ConnectTime time.Duration // from starting openvpn to "Initialization Sequence Completed"

	stop func()
}

// Stop ends the client early; t's cleanup does it otherwise.
func (c *BareClient) Stop() { c.stop() }

// StartBareClient connects a plain openvpn client to the lab's server and
// stops it when t ends.
func (l *Lab) StartBareClient(t testing.TB) *BareClient {
	t.Helper()
	l.mu.Lock()
	l.bare++
	n := l.bare
	l.mu.Unlock()
	ns := fmt.Sprintf("%scli%d", l.nsPrefix, n)
	if err := addNetns(ns); err != nil {
		t.Fatalf("vpnlab: %v", err)
	}
	var once sync.Once
	var p *proc
	stop := func() {
		once.Do(func() {
			if p != nil {
				p.stop()
			}
			if err := delNetns(ns); err != nil {
				t.Errorf("vpnlab cleanup: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	link, err := pickLink()
	if err != nil {
		t.Fatalf("vpnlab: %v", err)
	}
	srvAddr, cliAddr := link.Addr().Next(), link.Addr().Next().Next()
	srvDev := fmt.Sprintf("vl%sc%d", l.id, n)
	if err := l.veth(srvDev, l.ServerNS, srvAddr, link.Bits(), fmt.Sprintf("vl%sd%d", l.id, n), ns, cliAddr); err != nil {
		t.Fatalf("vpnlab: %v", err)
	}
	dir := t.TempDir()
	conf := l.clientConfig(netip.AddrPortFrom(srvAddr, l.Server.Port()))
	conf = strings.Replace(conf, "auth-user-pass\n", "auth-user-pass "+filepath.Join(dir, "auth")+"\n", 1)
	for name, body := range map[string]string{
		"client.ovpn": conf,
		"auth":        l.Username + "\n" + l.Password + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatalf("vpnlab: write %s: %v", name, err)
		}
	}
	start := time.Now()
	p, err = startProc(t, "openvpn-bare", ns, "Initialization Sequence Completed",
		"openvpn", "--config", filepath.Join(dir, "client.ovpn"))
	if err != nil {
		t.Fatalf("vpnlab: %v", err)
	}
	return &BareClient{NS: ns, ConnectTime: time.Since(start), stop: stop}
}

// HostRoutes returns the IPv4 and IPv6 routes of the calling namespace,
// leaving out the lab's own links, for tests asserting that nothing else
// changed them.
func HostRoutes() (string, error) {
	var b strings.Builder
	for _, fam := range []string{"-4", "-6"} {
		out, err := exec.Command("ip", fam, "route", "show", "table", "all").Output()
		if err != nil {
			return "", fmt.Errorf("ip %s route: %w", fam, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if line == "" || strings.Contains(line, " dev vl") {
				continue
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String(), nil
}
