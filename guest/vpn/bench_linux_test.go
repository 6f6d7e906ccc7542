package vpn

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/internal/vpnlab"
)

// The benchmarks compare the supervisor with a bare openvpn client that
// configures its own tun device, against the same server in the same run:
//
//	go test -run '^$' -bench . -benchtime 10x ./guest/vpn

// BenchmarkConnect measures selecting a profile until the proxy can use the
// tunnel, against a bare openvpn's start until "Initialization Sequence
// Completed".
func BenchmarkConnect(b *testing.B) {
	skipUnlessOpenVPN(b)
	lab := vpnlab.New(b, vpnlab.Options{})
	b.Run("supervisor", func(b *testing.B) {
		sup := newSupervisor(b, Config{})
		var total time.Duration
		for b.Loop() {
			start := time.Now()
			if err := sup.Connect(b.Context(), connectReq(lab)); err != nil {
				b.Fatal(err)
			}
			waitFor(b, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))
			total += time.Since(start)
			b.StopTimer()
			sup.Disconnect(b.Context())
			b.StartTimer()
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/connect")
	})
	b.Run("bare", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			c := lab.StartBareClient(b)
			total += c.ConnectTime
			c.Stop()
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/connect")
	})
}

// BenchmarkDownload measures one HTTP download through the tunnel: from a
// socket the supervisor made in its tunnel namespace, and from the bare
// client's namespace.
func BenchmarkDownload(b *testing.B) {
	skipUnlessOpenVPN(b)
	const size = 32 << 20
	lab := vpnlab.New(b, vpnlab.Options{})
	url := fmt.Sprintf("http://%s/bytes?n=%d", lab.HTTPAddr, size)
	run := func(b *testing.B, dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
		c := httpVia(dial)
		c.Timeout = time.Minute
		b.SetBytes(size)
		for b.Loop() {
			resp, err := c.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != size || resp.StatusCode != http.StatusOK {
				b.Fatalf("download: %d bytes, %v, %s", n, err, resp.Status)
			}
		}
	}
	b.Run("supervisor", func(b *testing.B) {
		sup := newSupervisor(b, Config{})
		if err := sup.Connect(b.Context(), connectReq(lab)); err != nil {
			b.Fatal(err)
		}
		waitFor(b, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))
		run(b, sup.DialContext)
	})
	b.Run("bare", func(b *testing.B) {
		cli := lab.StartBareClient(b)
		run(b, func(ctx context.Context, network, addr string) (net.Conn, error) {
			return vpnlab.DialIn(ctx, cli.NS, network, addr)
		})
	})
}
