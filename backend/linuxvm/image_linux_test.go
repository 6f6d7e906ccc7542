package linuxvm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/sandbox"
)

// TestGuestImage boots the real guest image (MICROVM_TEST_IMAGE, built by
// make guest-image) and checks that its programs run inside the box.
func TestGuestImage(t *testing.T) {
	requireRoot(t)
	if !getFixtures(t).realImage {
		t.Skip("set MICROVM_TEST_IMAGE to the guest image (make guest-image) to boot it")
	}
	b, s := newTest(t, "")
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
	if err := b.Stop(ctx, s); err != nil {
		t.Fatal(err)
	}
}
