//go:build linux

package vpnlab

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// httpIn is an HTTP client whose connections start in the named namespace.
func httpIn(ns string) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return DialIn(ctx, ns, network, addr)
			},
		},
	}
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return string(b)
}

func TestLab(t *testing.T) {
	before, err := HostRoutes()
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"udp", "tcp"} {
		t.Run(proto, func(t *testing.T) {
			lab := New(t, Options{Proto: proto, SSH: proto == "udp"})
			cli := lab.StartBareClient(t)
			t.Logf("bare client connected in %v", cli.ConnectTime)
			c := httpIn(cli.NS)

			ip := get(t, c, "http://"+lab.HTTPAddr.String()+"/ip")
			if a, err := netip.ParseAddr(ip); err != nil || !lab.Pool.Contains(a) {
				t.Errorf("remote saw %q, want an address in %s", ip, lab.Pool)
			}

			r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return DialIn(ctx, cli.NS, network, netip.AddrPortFrom(lab.DNS, 53).String())
			}}
			addrs, err := r.LookupNetIP(t.Context(), "ip4", lab.RemoteName)
			if err != nil || len(addrs) != 1 || addrs[0] != lab.RemoteIP {
				t.Errorf("lookup %s = %v, %v; want %v", lab.RemoteName, addrs, err, lab.RemoteIP)
			}
			if n := lab.AuthAttempts(); n != 1 {
				t.Errorf("auth attempts = %d, want 1", n)
			}

			if lab.SSHKey != "" {
				out, err := exec.Command("ip", "netns", "exec", cli.NS, "ssh", "-i", lab.SSHKey,
					"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
					lab.SSHUser+"@"+lab.SSHAddr.Addr().String(), "echo", "through-the-vpn").CombinedOutput()
				if err != nil || !strings.Contains(string(out), "through-the-vpn") {
					t.Errorf("ssh through the VPN: %v: %s", err, out)
				}
			}
		})
	}
	after, err := HostRoutes()
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("host routes changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
