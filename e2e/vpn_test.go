//go:build e2e && linux

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/internal/vpnlab"
)

// TestVPN connects a guest to a real OpenVPN server in a namespace of its
// own, through the daemon, and checks the promises: proxied names resolve
// and connect through the tunnel, SSH works through the proxy, the host's
// routes and DNS never change, a killed openvpn and a server outage heal,
// the proxy never goes direct while the tunnel is down, and a wrong
// password fails without a retry storm.
func TestVPN(t *testing.T) {
	for _, proto := range []string{"udp", "tcp"} {
		t.Run(proto, func(t *testing.T) { testVPN(t, proto) })
	}
}

func testVPN(t *testing.T, proto string) {
	bin := binDir(t)
	lab := vpnlab.New(t, vpnlab.Options{Proto: proto, SSH: true})
	routesBefore, err := vpnlab.HostRoutes()
	if err != nil {
		t.Fatal(err)
	}
	resolvBefore, _ := os.ReadFile("/etc/resolv.conf")

	dataDir := t.TempDir()
	d := startDaemon(t, bin, dataDir)
	c := newClient(t, d)
	ctx := testContext(t)

	// Every refused directive names its line; nothing is stored.
	for _, bad := range []string{"up /bin/sh", "script-security 2", "plugin /tmp/x.so", "management 127.0.0.1 7505", "ca /etc/ssl/ca.pem", "log /tmp/openvpn.log"} {
		cfg := lab.ClientConfig + "\n" + bad + "\n"
		_, err := c.CreateProfile(ctx, api.CreateVPNProfileRequest{Name: "bad", Config: cfg})
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 422 || ce.Code != "profile_directive_refused" || ce.Line == 0 || !strings.HasPrefix(bad, ce.Directive) {
			t.Fatalf("profile with %q: %v", bad, err)
		}
	}
	if _, err := c.GetProfile(ctx, "bad"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("refused profile was stored: %v", err)
	}

	user, pass := lab.Username, lab.Password
	prof, err := c.CreateProfile(ctx, api.CreateVPNProfileRequest{Name: "lab", Config: lab.ClientConfig, Username: &user, Password: &pass})
	if err != nil {
		t.Fatal(err)
	}
	if !prof.HasPassword {
		t.Fatalf("profile: %+v", prof)
	}
	if code, body := d.curl("GET", "/v1/vpn/profiles/lab", ""); code != 200 || strings.Contains(body, pass) || strings.Contains(body, "PRIVATE KEY") {
		t.Fatalf("GET profile leaks a secret or failed: %d %s", code, body)
	}

	const name = "e2e-vpn"
	if _, err := c.CreateVM(ctx, name, "linux"); err != nil {
		t.Fatal(err)
	}
	vm, err := c.StartVM(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if _, err := c.ConnectVPN(ctx, name, "lab"); err != nil {
		t.Fatal(err)
	}
	st := waitVPN(t, c, name, "connected", 30*time.Second)
	t.Logf("%s: connect took %v; tunnel %v via %s", proto, time.Since(began).Round(time.Millisecond), st.TunnelAddresses, st.Server)
	// The tun device was made inside the tunnel namespace, not moved
	// there through the namespace every distro shares.
	if !guestLogged(t, c, name, "vpn_tun_opened_in_namespace") {
		t.Errorf("the guest's openvpn did not get its tun device from the tunnel namespace")
	}

	// By name, through the tunnel; the remote sees the VPN pool address.
	remote := fmt.Sprintf("http://%s:%d", vpnlab.RemoteName, lab.HTTPAddr.Port())
	seen := socksGet(t, vm.SocksAddress, remote+"/ip")
	if !lab.Pool.Contains(mustAddr(t, seen)) {
		t.Fatalf("remote saw %q, not an address of the VPN pool %v", seen, lab.Pool)
	}
	// The remote is not reachable from the host itself, even over the
	// lab's own link (pinned to it, so nothing leaves by another route).
	if out, err := exec.Command("curl", "-sS", "--max-time", "2", "--interface", lab.HostLink, fmt.Sprintf("http://%s/ip", lab.HTTPAddr)).CombinedOutput(); err == nil {
		t.Fatalf("remote reachable without the VPN: %s", out)
	}

	// SSH through the proxy, as Velocitty does.
	out, err := exec.Command("ssh", "-F", "/dev/null", "-i", lab.SSHKey, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
		"-o", "ProxyCommand=nc -X 5 -x "+vm.SocksAddress+" %h %p",
		"-p", fmt.Sprint(lab.SSHAddr.Port()), lab.SSHUser+"@"+vpnlab.RemoteName, "echo ssh-through-vpn").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ssh-through-vpn") {
		t.Fatalf("ssh through the proxy: %v\n%s", err, out)
	}

	// A killed openvpn is restarted and reconnects.
	pid := guestProcess(t, filepath.Join(dataDir, "vms", name), "openvpn")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	waitVPNLeaves(t, c, name, st.Since, 10*time.Second)
	waitVPN(t, c, name, "connected", 15*time.Second)
	observe(t, "%s: reconnected %v after openvpn was killed", proto, time.Since(began).Round(time.Millisecond))
	socksGet(t, vm.SocksAddress, remote+"/")

	// Server down: reconnecting, proxied connections fail fast and never
	// go direct; server back: connected again.
	began = time.Now()
	lab.StopServer()
	waitVPN(t, c, name, "reconnecting", 30*time.Second)
	observe(t, "%s: server stopped: reconnecting reported after %v", proto, time.Since(began).Round(time.Millisecond))
	began = time.Now()
	if out, err := exec.Command("curl", "-sS", "--max-time", "5", "--socks5-hostname", vm.SocksAddress, remote+"/ip").CombinedOutput(); err == nil {
		t.Fatalf("proxied request succeeded while the tunnel is down: %s", out)
	}
	took := time.Since(began)
	if took > 4*time.Second {
		t.Fatalf("kill switch is slow: a proxied request took %v to fail", took)
	}
	observe(t, "%s: tunnel down: a proxied request failed after %v", proto, took.Round(time.Millisecond))
	o := startOrigin(t)
	if out, err := exec.Command("curl", "-sS", "--max-time", "5", "--socks5-hostname", vm.SocksAddress, o.URL+"/hello").CombinedOutput(); err == nil {
		t.Fatalf("proxy went direct while the tunnel is down: %s", out)
	}
	began = time.Now()
	lab.StartServer()
	waitVPN(t, c, name, "connected", 60*time.Second)
	socksGet(t, vm.SocksAddress, remote+"/")
	observe(t, "%s: server back: connected and proxying again after %v", proto, time.Since(began).Round(time.Millisecond))

	// Host routes and DNS never changed.
	if after, _ := vpnlab.HostRoutes(); after != routesBefore {
		t.Fatalf("host routes changed:\nbefore:\n%s\nafter:\n%s", routesBefore, after)
	}
	if after, _ := os.ReadFile("/etc/resolv.conf"); string(after) != string(resolvBefore) {
		t.Fatal("host resolv.conf changed")
	}

	// Logs carry openvpn's lines, never the password.
	logs, err := c.Logs(ctx, name, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var vpnLines int
	for _, l := range logs {
		if strings.Contains(l.Message, pass) {
			t.Fatalf("log line carries the password: %q", l.Message)
		}
		if l.Source == "vpn" {
			vpnLines++
		}
	}
	if vpnLines == 0 {
		t.Fatal("no VPN log lines through the logs endpoint")
	}

	// Disconnect: the proxy goes direct again.
	if st, err := c.DisconnectVPN(ctx, name); err != nil || st.State != "disconnected" {
		t.Fatalf("disconnect: %+v %v", st, err)
	}
	if got := socksGet(t, vm.SocksAddress, o.URL+"/hello"); got != "hello from origin\n" {
		t.Fatalf("direct after disconnect: %q", got)
	}

	// A wrong password fails and stops retrying.
	wrong := "wrong-" + pass
	if _, err := c.PutProfile(ctx, "lab", api.PutVPNProfileRequest{Config: lab.ClientConfig, Password: &wrong}); err != nil {
		t.Fatal(err)
	}
	attempts := lab.AuthAttempts()
	if _, err := c.ConnectVPN(ctx, name, "lab"); err != nil {
		t.Fatal(err)
	}
	st = waitVPN(t, c, name, "failed", 60*time.Second)
	if st.LastError == "" {
		t.Fatalf("failed without a reason: %+v", st)
	}
	settle := time.Now().Add(5 * time.Second)
	for time.Now().Before(settle) {
		if s, _ := c.VPNStatus(ctx, name); s.State != "failed" {
			t.Fatalf("left failed on its own: %+v", s)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if n := lab.AuthAttempts() - attempts; n > 2 {
		t.Fatalf("%d authentication attempts with a wrong password: a retry storm", n)
	}

	if err := c.DeleteVM(ctx, name); err != nil {
		t.Fatal(err)
	}
}

// vpnVM uploads the lab's profile as "lab", creates and starts VM name,
// connects it, and returns the VM and its connected tunnel.
func vpnVM(t *testing.T, c *client.Client, lab *vpnlab.Lab, name string) (api.VM, api.VPNStatus) {
	t.Helper()
	ctx := testContext(t)
	user, pass := lab.Username, lab.Password
	if _, err := c.CreateProfile(ctx, api.CreateVPNProfileRequest{Name: "lab", Config: lab.ClientConfig, Username: &user, Password: &pass}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateVM(ctx, name, "linux"); err != nil {
		t.Fatal(err)
	}
	vm, err := c.StartVM(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConnectVPN(ctx, name, "lab"); err != nil {
		t.Fatal(err)
	}
	return vm, waitVPN(t, c, name, "connected", 30*time.Second)
}

func waitVPN(t *testing.T, c *client.Client, vm, state string, timeout time.Duration) api.VPNStatus {
	t.Helper()
	var st api.VPNStatus
	waitFor(t, timeout, "VPN "+state, func() bool {
		var err error
		st, err = c.VPNStatus(context.Background(), vm)
		if err != nil {
			t.Fatal(err)
		}
		return string(st.State) == state
	})
	return st
}

// waitVPNLeaves waits until the tunnel is no longer the one that was
// connected at since.
func waitVPNLeaves(t *testing.T, c *client.Client, vm string, since time.Time, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, "the VPN notices the dead openvpn", func() bool {
		st, err := c.VPNStatus(context.Background(), vm)
		return err == nil && (st.State != "connected" || st.Since.After(since))
	})
}

// guestLogged reports whether the guest's recent logs hold a record with
// message, and logs the guest's VPN records when they do not.
func guestLogged(t *testing.T, c *client.Client, vm, message string) bool {
	t.Helper()
	logs, err := c.Logs(t.Context(), vm, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range logs {
		// The agent's records are "message key=value ...".
		if e.Message == message || strings.HasPrefix(e.Message, message+" ") {
			return true
		}
	}
	for _, e := range logs {
		if e.Source == "vpn" && !strings.HasPrefix(e.Message, "openvpn") {
			t.Logf("guest log: %s %s", e.Level, e.Message)
		}
	}
	return false
}

func socksGet(t *testing.T, socks, url string) string {
	t.Helper()
	out, err := exec.Command("curl", "-sS", "--max-time", "10", "--socks5-hostname", socks, url).CombinedOutput()
	if err != nil {
		t.Fatalf("curl --socks5-hostname %s %s: %v: %s", socks, url, err, out)
	}
	return string(out)
}

// guestProcess finds the pid of a program running inside a guest.
func guestProcess(t *testing.T, vmDir, prog string) int {
	t.Helper()
	for _, pid := range guestPIDs(guestMountNS(t, vmDir)) {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) == prog {
			return pid
		}
	}
	t.Fatalf("no %s process in the guest", prog)
	return 0
}
