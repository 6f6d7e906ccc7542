//go:build bench && linux

package bench

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/internal/benchkit"
	"github.com/velocitty/microvm/internal/benchreport"
	"github.com/velocitty/microvm/internal/vpnlab"
)

// vpn compares connecting the guest to a real OpenVPN server through the
// API with a bare openvpn client connecting to the same server, and
// downloads through the proxy and tunnel with downloads from the bare
// client's namespace.
func (b *bench) vpn() []benchreport.Row {
	lab := vpnlab.New(b.t, vpnlab.Options{Proto: "udp"})
	user, pass := lab.Username, lab.Password
	if _, err := b.c.CreateProfile(b.ctx(), api.CreateVPNProfileRequest{Name: "lab", Config: lab.ClientConfig, Username: &user, Password: &pass}); err != nil {
		b.t.Fatal(err)
	}
	connect, mbps := samples{}, samples{}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	// Connected is seen as Velocitty sees it: as an event on /v1/events.
	connected := b.vpnEvents(api.VPNStateConnected)
	for range b.k.cycles {
		t0 := time.Now()
		if _, err := b.c.ConnectVPN(b.ctx(), vmName, "lab"); err != nil {
			b.t.Fatal(err)
		}
		select {
		case <-connected:
		case <-time.After(30 * time.Second):
			b.t.Fatal("no vpn.state connected event within 30s")
		}
		connect.add("microvm", ms(time.Since(t0)))
		if _, err := b.c.DisconnectVPN(b.ctx(), vmName); err != nil {
			b.t.Fatal(err)
		}
		bare := lab.StartBareClient(b.t)
		connect.add("openvpn", ms(bare.ConnectTime))
		bare.Stop()
	}

	if _, err := b.c.ConnectVPN(b.ctx(), vmName, "lab"); err != nil {
		b.t.Fatal(err)
	}
	b.waitVPN(api.VPNStateConnected)
	bare := lab.StartBareClient(b.t)
	inBare := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return vpnlab.DialIn(ctx, bare.NS, network, addr)
	}
	// The peer: microsocks inside the bare client's namespace, so the
	// bare tunnel pays for a SOCKS5 hop too.
	peerAddr := "127.0.0.1:1080"
	peer := benchkit.Spawn(b.t, nil, "ip", "netns", "exec", bare.NS, "microsocks", "-i", "127.0.0.1", "-p", "1080")
	waitFor(b, "microsocks in the bare client's namespace", func() bool {
		c, err := inBare(b.ctx(), "tcp", peerAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	paths := []struct {
		path   benchkit.Path
		origin string
		pid    int // the proxy, for its CPU
	}{
		{benchkit.Path{Name: "openvpn", Dial: inBare}, lab.HTTPAddr.String(), 0},
		// By name, resolved in the guest through the VPN's DNS, as
		// Velocitty's connections are.
		{benchkit.Path{Name: "microvm", Proxy: b.vm.SocksAddress}, fmt.Sprintf("%s:%d", lab.RemoteName, lab.HTTPAddr.Port()), b.agentPID()},
		{benchkit.Path{Name: "openvpn+microsocks", Proxy: peerAddr, Dial: inBare}, lab.HTTPAddr.String(), peer.Process.Pid},
	}
	cpu := samples{}
	for r := range b.k.rounds {
		for _, p := range benchkit.Rotate(paths, r) {
			cpu0 := benchkit.CPUSeconds(p.pid)
			x, err := benchkit.Download(b.ctx(), p.path, p.origin, b.k.vpnBulk)
			if err != nil {
				b.t.Fatal(err)
			}
			mbps.add(p.path.Name, x)
			if p.pid != 0 {
				cpu.add(p.path.Name, (benchkit.CPUSeconds(p.pid)-cpu0)/(float64(b.k.vpnBulk)/(1<<30)))
			}
		}
	}
	bare.Stop()
	if _, err := b.c.DisconnectVPN(b.ctx(), vmName); err != nil {
		b.t.Fatal(err)
	}
	const sec = "VPN (OpenVPN over UDP, server in a namespace)"
	rows := []benchreport.Row{
		connect.row(sec, "connect: PUT until the connected event arrives", "ms", benchreport.Lower, "microvm", "openvpn", ""),
		mbps.row(sec, fmt.Sprintf("download of %d MiB through SOCKS5 and the tunnel", b.k.vpnBulk>>20), "MB/s", benchreport.Higher, "microvm", "openvpn", "openvpn+microsocks"),
	}
	cpuPeer := cpu.stat("openvpn+microsocks")
	rows = append(rows, benchreport.NewRow(sec, "proxy CPU per GiB through the tunnel", "s/GiB", benchreport.Lower, cpu.stat("microvm"), &cpuPeer, nil))
	rows[0].Note = "baseline: a bare openvpn client until \"Initialization Sequence Completed\", configuring its own tun device"
	rows[1].Note = "baseline: the same download from the bare client's namespace; peer: through microsocks in that namespace"
	return rows
}

// vpnEvents streams the VM's vpn.state events into a channel, one value
// per event reaching state, from the daemon's first event on. This section
// is the first to use the VPN, so the replay holds none of them.
func (b *bench) vpnEvents(state api.VPNState) <-chan struct{} {
	stream, err := b.c.Events(b.ctx(), 0)
	if err != nil {
		b.t.Fatal(err)
	}
	ch := make(chan struct{}, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			e, err := stream.Next()
			if err != nil {
				return
			}
			if e.Type == api.EventTypeVPNState && e.VM == vmName && e.State == string(state) {
				select {
				case ch <- struct{}{}:
				case <-b.ctx().Done():
					return
				}
			}
		}
	}()
	b.t.Cleanup(func() { stream.Close(); <-done })
	return ch
}

// waitVPN polls the VM's tunnel every 2 ms until it reaches state.
func (b *bench) waitVPN(state api.VPNState) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := b.c.VPNStatus(b.ctx(), vmName)
		if err != nil {
			b.t.Fatal(err)
		}
		if st.State == state {
			return
		}
		if st.State == api.VPNStateFailed || time.Now().After(deadline) {
			b.t.Fatalf("VPN is %s (%v), not %s", st.State, st.LastError, state)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
