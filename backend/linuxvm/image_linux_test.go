package linuxvm

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/velocitty/microvm/sandbox"
)

// TestGuestImage boots the real guest image (MICROVM_TEST_IMAGE, built by
// make guest-image) and checks that its programs run inside the box.
func TestGuestImage(t *testing.T) {
	requireRoot(t)
	if !getFixtures(t).realImage {
		t.Skip("set MICROVM_TEST_IMAGE to the guest image (make guest-image) to boot it")
	}
	b, s := newTest(t, anyAgent)
	ctx := testCtx(t)
	if err := b.Start(ctx, s); err != nil {
		t.Fatal(err)
	}
	f, err := readBox(s)
	if err != nil {
		t.Fatal(err)
	}
	box, err := sandbox.Attach(f.Box)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"cat", "/etc/os-release"}, "ID=debian"},
		{[]string{"cat", "/etc/wsl.conf"}, "appendWindowsPath = false"},
		{[]string{"openvpn", "--version"}, "OpenVPN 2."},
		{[]string{"ip", "-o", "link", "show", "lo"}, "lo:"},
		{[]string{"ls", "-l", "/dev/net/tun", "/dev/ptmx"}, "/dev/net/tun"},
		{[]string{"hostname"}, s.Name},
		{[]string{"sh", "-c", "test -s /etc/ssl/certs/ca-certificates.crt && echo certs"}, "certs"},
		// The agent moves the VPN's tun device into a private network
		// namespace; that takes ip netns inside the box.
		{[]string{"sh", "-c", "ip netns add microvm-test && ip -n microvm-test link show lo; ip netns del microvm-test"}, "lo:"},
	} {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cmd := box.Command(cctx, c.argv)
		cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%q: %v: %s (want %q)", c.argv, err, out, c.want)
		}
	}
	if os.Getenv("MICROVM_TEST_AGENT") != "" {
		checkSOCKS(t, s.SocksPort)
	}
	if err := b.Stop(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// checkSOCKS fetches a page from a host loopback server through the
// agent's SOCKS5 proxy: the box shares the host's network both ways.
func checkSOCKS(t *testing.T, port int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "through the guest")
	}))
	defer srv.Close()
	dialer, err := proxy.SOCKS5("tcp", "127.0.0.1:"+strconv.Itoa(port), nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer.(proxy.ContextDialer).DialContext}}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET %s through the guest's SOCKS5: %v", srv.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "through the guest" {
		t.Fatalf("body %q", body)
	}
}
