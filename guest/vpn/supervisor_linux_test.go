package vpn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/internal/vpnlab"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestConnect(t *testing.T) {
	skipUnlessOpenVPN(t)
	for _, proto := range []string{"udp", "tcp"} {
		t.Run(proto, func(t *testing.T) {
			lab := vpnlab.New(t, vpnlab.Options{Proto: proto, SSH: true})
			direct := loopbackServer(t)
			before := hostState(t)
			sup := newSupervisor(t, Config{})

			// No profile: direct.
			if _, err := getBody(httpVia(sup.DialContext), "http://"+direct); err == nil {
				t.Fatal("HTTP to a raw TCP greeter should fail to parse, not succeed")
			}
			c, err := sup.DialContext(t.Context(), "tcp", direct)
			if err != nil {
				t.Fatalf("direct dial with no profile: %v", err)
			}
			c.Close()

			start := time.Now()
			if err := sup.Connect(t.Context(), connectReq(lab)); err != nil {
				t.Fatal(err)
			}
			st := waitFor(t, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))
			t.Logf("connected in %v: %+v", time.Since(start), st)
			if a, err := netip.ParseAddr(st.TunnelIPv4); err != nil || !lab.Pool.Contains(a) {
				t.Errorf("tunnel IPv4 %q not in %s", st.TunnelIPv4, lab.Pool)
			}
			if !strings.HasPrefix(st.TunnelIPv6, "fdcc:8::") {
				t.Errorf("tunnel IPv6 = %q", st.TunnelIPv6)
			}
			if st.Server != lab.Server.String() {
				t.Errorf("server = %q, want %s", st.Server, lab.Server)
			}
			if len(st.DNS) != 1 || st.DNS[0] != lab.DNS.String() {
				t.Errorf("dns = %v, want [%s]", st.DNS, lab.DNS)
			}

			// By name, through the pushed DNS, from the tunnel.
			hc := httpVia(sup.DialContext)
			body, err := getBody(hc, "http://"+lab.RemoteName+"/ip")
			if err != nil {
				t.Fatalf("GET the remote by name through the tunnel: %v", err)
			}
			if body != st.TunnelIPv4 {
				t.Errorf("remote saw %q, want the tunnel address %s", body, st.TunnelIPv4)
			}
			addrs, err := sup.Resolve(t.Context(), lab.RemoteName)
			if err != nil || len(addrs) != 1 || addrs[0] != lab.RemoteIP {
				t.Errorf("Resolve(%s) = %v, %v", lab.RemoteName, addrs, err)
			}
			// The remote's sshd answers through the tunnel too.
			ssh, err := sup.DialContext(t.Context(), "tcp", lab.SSHAddr.String())
			if err != nil {
				t.Fatalf("dial sshd through the tunnel: %v", err)
			}
			banner := make([]byte, 8)
			ssh.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := ssh.Read(banner); err != nil || string(banner) != "SSH-2.0-" {
				t.Errorf("sshd banner %q, %v", banner, err)
			}
			ssh.Close()

			// Never direct: the test's own loopback is not the tunnel's.
			if c, err := sup.DialContext(t.Context(), "tcp", direct); err == nil {
				c.Close()
				t.Error("a dial to the agent's loopback went direct while the VPN is selected")
			}
			// The agent's namespace has no way to the remote.
			assertNoRoute(t, lab)
			if after := hostState(t); after != before {
				t.Errorf("host routes or resolv.conf changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}

			// A connection still open through the tunnel when it goes
			// away is closed, not left hanging.
			held, err := sup.DialContext(t.Context(), "tcp", lab.HTTPAddr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()

			if err := sup.Disconnect(t.Context()); err != nil {
				t.Fatal(err)
			}
			if st := sup.Status(); st.State != agentapi.VPNDisconnected {
				t.Errorf("after disconnect: %+v", st)
			}
			held.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := held.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
				t.Errorf("read on a tunnel connection after disconnect: %v, want ErrClosed", err)
			}
			c, err = sup.DialContext(t.Context(), "tcp", direct)
			if err != nil {
				t.Fatalf("direct dial after disconnect: %v", err)
			}
			c.Close()
			if after := hostState(t); after != before {
				t.Errorf("host routes or resolv.conf changed after disconnect:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if logs := logText(sup); strings.Contains(logs, lab.Password) || !strings.Contains(logs, "Initialization Sequence Completed") {
				t.Error("the log holds the password, or lacks openvpn's own lines")
			}
		})
	}
}

// assertNoRoute checks that the agent's namespace would not send traffic for
// the remote into the lab or a tunnel, and holds no VPN address.
func assertNoRoute(t *testing.T, lab *vpnlab.Lab) {
	t.Helper()
	routes, err := netlink.RouteGet(lab.RemoteIP.AsSlice())
	if err == nil {
		for _, r := range routes {
			link, err := netlink.LinkByIndex(r.LinkIndex)
			if err != nil {
				continue
			}
			if link.Attrs().Name == lab.HostLink || link.Type() == "tuntap" {
				t.Errorf("the agent's namespace routes %s via %s", lab.RemoteIP, link.Attrs().Name)
			}
		}
	}
	// A real attempt from the agent's namespace, pinned to the lab's link so
	// that nothing can leave the machine whatever the host's routes say.
	d := net.Dialer{Timeout: 2 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, lab.HostLink)
		})
		return serr
	}}
	if c, err := d.DialContext(t.Context(), "tcp4", lab.HTTPAddr.String()); err == nil {
		c.Close()
		t.Errorf("the agent's namespace reached the remote %s directly", lab.HTTPAddr)
	} else {
		t.Logf("direct attempt from the agent's namespace: %v", err)
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && lab.Pool.Contains(ip) {
			t.Errorf("the agent's namespace holds VPN address %s", a.IPNet)
		}
	}
}

// assertKillSwitch checks that while the tunnel is not up, dials fail fast
// with ENETUNREACH and never reach the agent's own namespace.
func assertKillSwitch(t *testing.T, sup *Supervisor, lab *vpnlab.Lab, direct string) {
	t.Helper()
	for _, addr := range []string{lab.HTTPAddr.String(), direct, lab.RemoteName + ":80"} {
		start := time.Now()
		c, err := sup.DialContext(t.Context(), "tcp", addr)
		took := time.Since(start)
		if err == nil {
			c.Close()
			t.Fatalf("dial %s succeeded while the tunnel is down", addr)
		}
		var ue *UnreachableError
		if !errors.Is(err, syscall.ENETUNREACH) || !errors.As(err, &ue) || !errors.Is(err, errdefs.ErrUnavailable) {
			t.Errorf("dial %s: %v; want the kill switch's ENETUNREACH", addr, err)
		}
		if took > 100*time.Millisecond {
			t.Errorf("dial %s took %v; the kill switch should answer at once", addr, took)
		}
	}
	if _, err := sup.Resolve(t.Context(), lab.RemoteName); !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("resolve while down: %v; want ENETUNREACH", err)
	}
}

func TestKilledOpenVPNReconnects(t *testing.T) {
	skipUnlessOpenVPN(t)
	lab := vpnlab.New(t, vpnlab.Options{})
	sup := newSupervisor(t, Config{})
	if err := sup.Connect(t.Context(), connectReq(lab)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))
	sup.mu.Lock()
	pid := int(sup.sess.pid.Load())
	sup.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill openvpn %d: %v", pid, err)
	}
	killed := time.Now()
	st := waitFor(t, sup, 5*time.Second, "reconnecting", state(agentapi.VPNReconnecting))
	if st.Retries < 1 {
		t.Errorf("reconnecting with retries %d", st.Retries)
	}
	waitFor(t, sup, 15*time.Second, "connected again", state(agentapi.VPNConnected))
	t.Logf("connected again %v after the kill", time.Since(killed))
	body, err := getBody(httpVia(sup.DialContext), "http://"+lab.RemoteName+"/ip")
	if err != nil || !strings.HasPrefix(body, "10.8.0.") {
		t.Errorf("GET after reconnect: %q, %v", body, err)
	}
}

func TestServerOutage(t *testing.T) {
	skipUnlessOpenVPN(t)
	for _, tc := range []struct {
		name, proto, extra string
	}{
		{"udp", "udp", ""},
		{"tcp", "tcp", ""},
		// persist-tun keeps the device, already in the tunnel namespace,
		// across the restart: no up-down report comes, only CONNECTED.
		{"udp-persist-tun", "udp", "persist-tun\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := vpnlab.New(t, vpnlab.Options{Proto: tc.proto, PingRestart: 3})
			direct := loopbackServer(t)
			before := hostState(t)
			sup := newSupervisor(t, Config{})
			req := connectReq(lab)
			req.Config += tc.extra
			if err := sup.Connect(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			waitFor(t, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))

			lab.StopServer()
			st := waitFor(t, sup, 20*time.Second, "reconnecting", state(agentapi.VPNReconnecting))
			t.Logf("outage seen: %+v", st)
			assertKillSwitch(t, sup, lab, direct)
			if after := hostState(t); after != before {
				t.Errorf("host routes or resolv.conf changed during the outage:\nbefore:\n%s\nafter:\n%s", before, after)
			}

			lab.StartServer()
			st = waitFor(t, sup, 45*time.Second, "connected again", state(agentapi.VPNConnected))
			t.Logf("back: %+v", st)
			body, err := getBody(httpVia(sup.DialContext), "http://"+lab.RemoteName+"/ip")
			if err != nil || body != st.TunnelIPv4 {
				t.Errorf("GET after the outage: %q, %v", body, err)
			}
		})
	}
}

func TestWrongPasswordFails(t *testing.T) {
	skipUnlessOpenVPN(t)
	lab := vpnlab.New(t, vpnlab.Options{})
	direct := loopbackServer(t)
	sup := newSupervisor(t, Config{})
	req := connectReq(lab)
	req.Password = "not the password"
	if err := sup.Connect(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	st := waitFor(t, sup, 15*time.Second, "failed", state(agentapi.VPNFailed))
	if !strings.Contains(st.LastError, "authentication failed") {
		t.Errorf("last error %q", st.LastError)
	}
	// The session has given up: openvpn is gone, nothing will retry.
	sup.mu.Lock()
	done := sup.sess.done
	sup.mu.Unlock()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the failed session is still running")
	}
	if n := lab.AuthAttempts(); n != 1 {
		t.Errorf("server saw %d authentication attempts, want 1", n)
	}
	assertKillSwitch(t, sup, lab, direct)
	if strings.Contains(st.LastError, req.Password) || strings.Contains(logText(sup), req.Password) {
		t.Error("the status or the log leaks the password")
	}
}

func TestSwitchProfile(t *testing.T) {
	skipUnlessOpenVPN(t)
	udp := vpnlab.New(t, vpnlab.Options{Proto: "udp"})
	tcp := vpnlab.New(t, vpnlab.Options{Proto: "tcp", NoIPv6: true})
	sup := newSupervisor(t, Config{})
	for _, lab := range []*vpnlab.Lab{udp, tcp} {
		if err := sup.Connect(t.Context(), connectReq(lab)); err != nil {
			t.Fatal(err)
		}
		st := waitFor(t, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))
		if st.Server != lab.Server.String() {
			t.Errorf("server = %s, want %s", st.Server, lab.Server)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		c, err := sup.DialContext(ctx, "tcp", lab.HTTPAddr.String())
		cancel()
		if err != nil {
			t.Fatalf("dial through %s: %v", st.Server, err)
		}
		c.Close()
	}
	if st := sup.Status(); st.TunnelIPv6 != "" {
		t.Errorf("an IPv4-only tunnel reports IPv6 %q", st.TunnelIPv6)
	}
	// Only the addresses the tunnel carries are looked up.
	if _, err := sup.Resolve(t.Context(), tcp.RemoteName); err != nil {
		t.Errorf("resolve over an IPv4-only tunnel: %v", err)
	}
	var ne net.Error
	if _, err := sup.DialContext(t.Context(), "tcp6", "[fdcc:9::1]:80"); err == nil || !errors.As(err, &ne) {
		t.Errorf("IPv6 dial over an IPv4-only tunnel: %v", err)
	}
}

func TestUnusableSetupFailsWithoutRetrying(t *testing.T) {
	skipUnlessOpenVPN(t)
	for name, tc := range map[string]struct {
		openvpn, config, want string
	}{
		"missing binary": {"/nonexistent/openvpn", "client\n", "start openvpn"},
		"bad profile":    {"", "client\nno-such-option 1\n", "before its management link was up"},
	} {
		t.Run(name, func(t *testing.T) {
			sup := newSupervisor(t, Config{OpenVPN: tc.openvpn})
			err := sup.Connect(t.Context(), agentapi.VPNConnect{Profile: "bad", Config: tc.config})
			if err != nil {
				t.Fatal(err)
			}
			st := waitFor(t, sup, 10*time.Second, "failed", state(agentapi.VPNFailed))
			if !strings.Contains(st.LastError, tc.want) || st.Retries != 0 {
				t.Errorf("status %+v; want a %q error and no retries", st, tc.want)
			}
		})
	}
}

func TestStaticChallengeRefused(t *testing.T) {
	skipUnlessOpenVPN(t)
	lab := vpnlab.New(t, vpnlab.Options{})
	sup := newSupervisor(t, Config{})
	req := connectReq(lab)
	req.Config += "static-challenge \"Enter your code\" 1\n"
	if err := sup.Connect(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	st := waitFor(t, sup, 15*time.Second, "failed", state(agentapi.VPNFailed))
	if !strings.Contains(st.LastError, "one-time code") {
		t.Errorf("last error %q", st.LastError)
	}
	if n := lab.AuthAttempts(); n != 0 {
		t.Errorf("the server saw %d attempts; a code we cannot supply must not be guessed", n)
	}
}

// A profile naming an existing persistent tun device of the host must not
// make the supervisor take that device away.
func TestHostTunDeviceUntouched(t *testing.T) {
	skipUnlessOpenVPN(t)
	lab := vpnlab.New(t, vpnlab.Options{})
	name := fmt.Sprintf("tun%d", 900+os.Getpid()%99)
	host := &netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: name}, Mode: netlink.TUNTAP_MODE_TUN}
	if err := netlink.LinkAdd(host); err != nil {
		t.Fatalf("create the host's %s: %v", name, err)
	}
	t.Cleanup(func() { netlink.LinkDel(host) })
	before, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	sup := newSupervisor(t, Config{})
	req := connectReq(lab)
	req.Config = strings.Replace(req.Config, "dev tun\n", "dev "+name+"\n", 1)
	if err := sup.Connect(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))
	after, err := netlink.LinkByName(name)
	if err != nil || after.Attrs().Index != before.Attrs().Index {
		t.Fatalf("the host's %s was taken: %v", name, err)
	}
}
