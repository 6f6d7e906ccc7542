//go:build bench && linux

package bench

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/velocitty/microvm/internal/benchkit"
	"github.com/velocitty/microvm/internal/benchreport"
)

// proxy is one way through which the SOCKS5 section reaches the origin.
type proxy struct {
	benchkit.Path
	pid func() int // the proxy process, 0 for direct
}

// origin starts the HTTP origin in a process of its own (this test binary
// re-executed) and returns its address.
func (b *bench) origin() string {
	if b.originAddr != "" {
		return b.originAddr
	}
	addr := benchkit.FreeAddr(b.t)
	benchkit.Spawn(b.t, []string{benchkit.OriginEnv + "=" + addr}, os.Args[0])
	benchkit.WaitListening(b.t, addr)
	b.originAddr = addr
	return addr
}

// microsocks starts the peer proxy from Debian once.
func (b *bench) microsocks() proxy {
	if b.peer.Name == "" {
		addr := benchkit.FreeAddr(b.t)
		host, port, _ := net.SplitHostPort(addr)
		cmd := benchkit.Spawn(b.t, nil, "microsocks", "-i", host, "-p", port)
		benchkit.WaitListening(b.t, addr)
		pid := cmd.Process.Pid
		b.peer = proxy{Path: benchkit.Path{Name: "microsocks", Proxy: addr}, pid: func() int { return pid }}
	}
	return b.peer
}

func (b *bench) ours() proxy {
	return proxy{Path: benchkit.Path{Name: "microvm", Proxy: b.vm.SocksAddress}, pid: b.agentPID}
}

// socks compares downloads and new connections through the guest's proxy
// with the direct path and microsocks.
func (b *bench) socks() []benchreport.Row {
	origin := b.origin()
	paths := []proxy{{Path: benchkit.Path{Name: "direct"}, pid: func() int { return 0 }}, b.ours(), b.microsocks()}
	url := fmt.Sprintf("http://%s/bytes?n=%d", origin, b.k.bulk)
	mbps, cpu := samples{}, samples{}
	rate, p50, p99 := samples{}, samples{}, samples{}
	for r := range b.k.rounds {
		// Rotated each round: connections leave TIME_WAIT sockets that
		// slow the next variant's connects a little.
		order := benchkit.Rotate(paths, r)
		for _, p := range order {
			pid := p.pid()
			cpu0 := benchkit.CPUSeconds(pid)
			x, err := benchkit.CurlDownload(b.ctx(), p.Path, url)
			if err != nil {
				b.t.Fatal(err)
			}
			mbps.add(p.Name, x)
			if pid != 0 {
				cpu.add(p.Name, (benchkit.CPUSeconds(pid)-cpu0)/(float64(b.k.bulk)/(1<<30)))
			}
		}
		for _, p := range order {
			res, err := benchkit.ConnRate(b.ctx(), p.Path, origin, b.k.conns, b.k.connTime)
			if err != nil {
				b.t.Fatal(err)
			}
			rate.add(p.Name, res.Rate)
			p50.add(p.Name, res.Latency.Median())
			p99.add(p.Name, res.Latency.Percentile(99))
		}
	}
	const sec = "SOCKS5 proxy (loopback)"
	size := fmt.Sprintf("%d MiB", b.k.bulk>>20)
	addedOurs := p50.stat("microvm").Median - p50.stat("direct").Median
	addedPeer := p50.stat("microsocks").Median - p50.stat("direct").Median
	cpuPeer := cpu.stat("microsocks")
	rows := []benchreport.Row{
		mbps.row(sec, "download with curl, "+size, "MB/s", benchreport.Higher, "microvm", "direct", "microsocks"),
		benchreport.NewRow(sec, "proxy CPU per GiB moved", "s/GiB", benchreport.Lower, cpu.stat("microvm"), &cpuPeer, nil),
		rate.row(sec, "new connection + CONNECT + 64 B GET, one client", "req/s", benchreport.Higher, "microvm", "direct", "microsocks"),
		p50.row(sec, "latency of that request, p50", "µs", benchreport.Lower, "microvm", "direct", "microsocks"),
		p99.row(sec, "latency of that request, p99", "µs", benchreport.Lower, "microvm", "direct", "microsocks"),
	}
	rows[3].Note = fmt.Sprintf("added p50: microvm +%.0f µs, microsocks +%.0f µs", addedOurs, addedPeer)
	return rows
}

// memory compares the agent's resident memory with microsocks', idle and
// under 32 parallel downloads.
func (b *bench) memory() []benchreport.Row {
	origin := b.origin()
	idle, loaded := samples{}, samples{}
	for range max(b.k.rounds, 3) {
		for _, p := range []proxy{b.ours(), b.microsocks()} {
			pid := p.pid()
			idle.add(p.Name, float64(benchkit.StatusKB(pid, "VmRSS"))/1024)
			kb, err := benchkit.PeakRSS(pid, func() error {
				return benchkit.Downloads(b.ctx(), p.Path, origin, b.k.loadBulk, 32)
			})
			if err != nil {
				b.t.Fatal(err)
			}
			loaded.add(p.Name, float64(kb)/1024)
		}
	}
	const sec = "Memory"
	return []benchreport.Row{
		idle.row(sec, "guest agent RSS, idle", "MiB", benchreport.Lower, "microvm", "microsocks", ""),
		loaded.row(sec, "guest agent RSS, peak under 32 parallel downloads", "MiB", benchreport.Lower, "microvm", "microsocks", ""),
	}
}

// samples collects measurements per variant.
type samples map[string]benchkit.Samples

func (s samples) add(name string, x float64) { s[name] = append(s[name], x) }

func (s samples) stat(name string) benchreport.Stat { return benchreport.StatOf(name, s[name]) }

// row compares ours with a baseline and an optional peer ("" for none).
func (s samples) row(section, metric, unit string, better benchreport.Better, ours, base, peer string) benchreport.Row {
	b := s.stat(base)
	var p *benchreport.Stat
	if peer != "" {
		ps := s.stat(peer)
		p = &ps
	}
	return benchreport.NewRow(section, metric, unit, better, s.stat(ours), &b, p)
}

// waitFor polls cond every 10 ms for up to 10 s.
func waitFor(b *bench, what string, cond func() bool) {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
