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
// configures its own tun device, against the same server, alternating
// the two in every iteration so that a busy machine slows both alike:
//
//	go test -run '^$' -bench . -benchtime 10x ./guest/vpn
//
// They report each side's figure and the ratio supervisor/bare.

// BenchmarkConnect measures selecting a profile until the proxy can use the
// tunnel, against a bare openvpn's start until "Initialization Sequence
// Completed".
func BenchmarkConnect(b *testing.B) {
	skipUnlessOpenVPN(b)
	for _, proto := range []string{"udp", "tcp"} {
		b.Run(proto, func(b *testing.B) {
			lab := vpnlab.New(b, vpnlab.Options{Proto: proto})
			sup := newSupervisor(b, Config{})
			var supTotal, bareTotal time.Duration
			for range b.N {
				start := time.Now()
				if err := sup.Connect(b.Context(), connectReq(lab)); err != nil {
					b.Fatal(err)
				}
				waitFor(b, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))
				supTotal += time.Since(start)
				sup.Disconnect(b.Context())

				c := lab.StartBareClient(b)
				bareTotal += c.ConnectTime
				c.Stop()
			}
			ms := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
			report(b, "ms/connect", ms(supTotal), ms(bareTotal))
		})
	}
}

// BenchmarkDownload measures HTTP downloads through the tunnel: from a
// socket the supervisor made in its tunnel namespace, and from the bare
// client's namespace.
func BenchmarkDownload(b *testing.B) {
	skipUnlessOpenVPN(b)
	const size = 32 << 20
	lab := vpnlab.New(b, vpnlab.Options{})
	url := fmt.Sprintf("http://%s/bytes?n=%d", lab.HTTPAddr, size)
	sup := newSupervisor(b, Config{})
	if err := sup.Connect(b.Context(), connectReq(lab)); err != nil {
		b.Fatal(err)
	}
	waitFor(b, sup, 15*time.Second, "connected", state(agentapi.VPNConnected))
	cli := lab.StartBareClient(b)
	viaSup := httpVia(sup.DialContext)
	viaBare := httpVia(func(ctx context.Context, network, addr string) (net.Conn, error) {
		return vpnlab.DialIn(ctx, cli.NS, network, addr)
	})
	download := func(c *http.Client) time.Duration {
		c.Timeout = time.Minute
		start := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != size || resp.StatusCode != http.StatusOK {
			b.Fatalf("download: %d bytes, %v, %s", n, err, resp.Status)
		}
		return time.Since(start)
	}
	var supTotal, bareTotal time.Duration
	for range b.N {
		supTotal += download(viaSup)
		bareTotal += download(viaBare)
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	report(b, "MB/s", mbps(supTotal), mbps(bareTotal))
}

// report records both sides' averages and their ratio.
func report(b *testing.B, unit string, sup, bare float64) {
	b.ReportMetric(sup, "sup-"+unit)
	b.ReportMetric(bare, "bare-"+unit)
	b.ReportMetric(sup/bare, "sup/bare")
	b.ReportMetric(0, "ns/op")
}
