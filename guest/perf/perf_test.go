//go:build linux

package perf

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velocitty/microvm/guest/agentclient"
	"github.com/velocitty/microvm/internal/benchkit"
)

// Knobs (environment):
//
//	MICROVM_BENCH=1           run TestPerf at all (BenchmarkPerf runs with -bench)
//	MICROVM_BENCH_BYTES=N     bulk download size (default 1 GiB; 64 MiB with -short)
//	MICROVM_BENCH_ROUNDS=N    interleaved rounds (default 5; 1 with -short)
//	MICROVM_BENCH_AGENT=path  measure this binary instead of building one
//	MICROVM_BENCH_ONLY=list   comma-separated subset of bulk,conn (default both)
//	MICROVM_BENCH_EXTRA=list  more agent variants, name:ENV=V[;ENV=V] each,
//	                          e.g. "gmp1:GOMAXPROCS=1" (for experiments)
//	MICROVM_BENCH_PROXIES=list running SOCKS5 proxies to add, name=host:port
//	                          each, e.g. a guest's agent: "vm=127.0.0.1:1080"
//
// Every variant runs once per round, in the same order, so drift hits all
// of them; the report gives medians and ratios to the direct path.

// TestMain doubles as the origin HTTP server when re-executed by TestPerf.
func TestMain(m *testing.M) {
	benchkit.ServeOriginIfAsked()
	os.Exit(m.Run())
}

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v
	}
	return def
}

type variant struct {
	benchkit.Path
	pid int // proxy process, for CPU and memory
}

func TestPerf(t *testing.T) {
	if os.Getenv("MICROVM_BENCH") != "1" {
		t.Skip("set MICROVM_BENCH=1 to measure (see perf_test.go)")
	}
	size := envInt("MICROVM_BENCH_BYTES", 1<<30)
	rounds := int(envInt("MICROVM_BENCH_ROUNDS", 5))
	if testing.Short() {
		size, rounds = min(size, 64<<20), 1
	}
	t.Log(measure(t, size, rounds))
}

// BenchmarkPerf runs one round with 256 MiB downloads (for `make bench`)
// and reports the headline ratios; TestPerf is the full measurement.
func BenchmarkPerf(b *testing.B) {
	benchOnce.Do(func() { benchReport = measure(b, envInt("MICROVM_BENCH_BYTES", 256<<20), 1) })
	r := benchReport
	if r == nil {
		b.Skip("measurement failed")
	}
	for range b.N {
	}
	b.ReportMetric(r.ratio("curl MB/s", "agent"), "curl-x-direct")
	b.ReportMetric(r.median("proxy CPU s/GiB", "agent"), "cpu-s/GiB")
	b.ReportMetric(r.ratio("conn+GET/s c=1", "agent"), "conn-x-direct")
	b.ReportMetric(r.median("p50 µs c=1", "agent")-r.median("p50 µs c=1", "direct"), "added-p50-µs")
	b.ReportMetric(float64(r.idleRSS)/1024, "idle-RSS-MiB")
	b.ReportMetric(float64(r.peakRSS)/1024, "bulk-RSS-MiB")
	b.ReportMetric(r.rtt[0], "keystroke-p50-µs")
	b.Log(r)
}

var (
	benchOnce   sync.Once
	benchReport *report
)

// report holds every sample of one measurement.
type report struct {
	rounds   int
	size     int64
	variants []variant
	res      map[string]map[string]benchkit.Samples // metric -> variant -> samples
	idleRSS  int                                    // agent, kB
	peakRSS  int                                    // agent under 32 bulk downloads, kB
	rtt      [3]float64                             // keystroke p50, p90, p99 µs
}

func (r *report) median(metric, v string) float64 { return r.res[metric][v].Median() }

func (r *report) ratio(metric, v string) float64 {
	if d := r.median(metric, "direct"); d > 0 {
		return r.median(metric, v) / d
	}
	return 0
}

// measure starts the origin, the agent and microsocks and runs every
// metric in interleaved rounds.
func measure(t testing.TB, size int64, rounds int) *report {
	ctx := t.Context()
	dir := t.TempDir()
	bin := os.Getenv("MICROVM_BENCH_AGENT")
	if bin == "" {
		bin = filepath.Join(dir, "microvm-agent")
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/velocitty/microvm/guest/cmd/microvm-agent")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build agent: %v\n%s", err, out)
		}
	}
	originAddr := benchkit.FreeAddr(t)
	benchkit.Spawn(t, []string{benchkit.OriginEnv + "=" + originAddr}, os.Args[0])
	benchkit.WaitListening(t, originAddr)

	token := "perf-token"
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(token), 0o600)
	controlAddr, socksAddr := benchkit.FreeAddr(t), benchkit.FreeAddr(t)
	agentCmd := benchkit.Spawn(t, nil, bin, "serve", "--control-addr", controlAddr, "--socks-addr", socksAddr, "--token-file", tokenFile)
	benchkit.WaitListening(t, socksAddr)
	benchkit.WaitListening(t, controlAddr)
	time.Sleep(200 * time.Millisecond)
	idleRSS := benchkit.StatusKB(agentCmd.Process.Pid, "VmRSS")

	variants := []variant{{Path: benchkit.Path{Name: "direct"}}, {Path: benchkit.Path{Name: "agent", Proxy: socksAddr}, pid: agentCmd.Process.Pid}}
	for _, spec := range strings.Split(os.Getenv("MICROVM_BENCH_EXTRA"), ",") {
		name, envs, ok := strings.Cut(spec, ":")
		if !ok {
			continue
		}
		c, s := benchkit.FreeAddr(t), benchkit.FreeAddr(t)
		cmd := benchkit.Spawn(t, strings.Split(envs, ";"), bin, "serve", "--control-addr", c, "--socks-addr", s, "--token-file", tokenFile)
		benchkit.WaitListening(t, s)
		variants = append(variants, variant{Path: benchkit.Path{Name: name, Proxy: s}, pid: cmd.Process.Pid})
	}
	for _, spec := range strings.Split(os.Getenv("MICROVM_BENCH_PROXIES"), ",") {
		name, addr, ok := strings.Cut(spec, "=")
		if !ok {
			continue
		}
		pid, err := benchkit.ListenerPID(addr)
		if err != nil {
			t.Fatalf("proxy %s: %v", name, err)
		}
		variants = append(variants, variant{Path: benchkit.Path{Name: name, Proxy: addr}, pid: pid})
	}
	if ms, err := exec.LookPath("microsocks"); err == nil {
		host, port, _ := net.SplitHostPort(benchkit.FreeAddr(t))
		c := benchkit.Spawn(t, nil, ms, "-i", host, "-p", port)
		benchkit.WaitListening(t, net.JoinHostPort(host, port))
		variants = append(variants, variant{Path: benchkit.Path{Name: "microsocks", Proxy: net.JoinHostPort(host, port)}, pid: c.Process.Pid})
	} else {
		t.Log("microsocks not installed: measuring without it")
	}

	res := map[string]map[string]benchkit.Samples{}
	add := func(metric, v string, x float64) {
		if res[metric] == nil {
			res[metric] = map[string]benchkit.Samples{}
		}
		res[metric][v] = append(res[metric][v], x)
	}
	_, curlErr := exec.LookPath("curl")
	only := os.Getenv("MICROVM_BENCH_ONLY")
	doBulk := only == "" || strings.Contains(only, "bulk")
	doConn := only == "" || strings.Contains(only, "conn")
	for r := range rounds {
		// Each round starts one variant later: a variant's connections
		// leave TIME_WAIT sockets that slow the next one's connects a
		// little, so no variant may always come first or last.
		order := benchkit.Rotate(variants, r)
		for _, v := range order {
			if !doBulk {
				break
			}
			if curlErr == nil {
				cpu0 := benchkit.CPUSeconds(v.pid)
				mbps, err := benchkit.CurlDownload(ctx, v.Path, fmt.Sprintf("http://%s/bytes?n=%d", originAddr, size))
				if err != nil {
					t.Fatal(err)
				}
				add("curl MB/s", v.Name, mbps)
				if v.pid != 0 {
					add("proxy CPU s/GiB", v.Name, (benchkit.CPUSeconds(v.pid)-cpu0)/(float64(size)/(1<<30)))
				}
			}
			mbps, err := benchkit.Download(ctx, v.Path, originAddr, size)
			if err != nil {
				t.Fatal(err)
			}
			add("Go client MB/s", v.Name, mbps)
		}
		for _, v := range order {
			if !doConn {
				break
			}
			cpu0 := benchkit.CPUSeconds(v.pid)
			res, err := benchkit.ConnRate(ctx, v.Path, originAddr, 3000, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if v.pid != 0 {
				add("proxy CPU µs/conn", v.Name, (benchkit.CPUSeconds(v.pid)-cpu0)*1e6/float64(len(res.Latency)+50))
			}
			add("conn+GET/s c=1", v.Name, res.Rate)
			add("p50 µs c=1", v.Name, res.Latency.Median())
			add("p99 µs c=1", v.Name, res.Latency.Percentile(99))
		}
		t.Logf("round %d done", r+1)
	}
	// Memory under 32 parallel bulk downloads through the agent.
	peak, err := benchkit.PeakRSS(variants[1].pid, func() error {
		return benchkit.Downloads(ctx, variants[1].Path, originAddr, min(size, 64<<20), 32)
	})
	if err != nil {
		t.Fatal(err)
	}
	rtt := keystrokes(t, controlAddr, token, 2000)

	return &report{rounds: rounds, size: size, variants: variants, res: res, idleRSS: idleRSS, peakRSS: peak, rtt: rtt}
}

func (r *report) String() string {
	var b strings.Builder
	rounds, size, variants, res := r.rounds, r.size, r.variants, r.res
	fmt.Fprintf(&b, "\n%d rounds, bulk %d MiB, medians (ratio to direct)\n", rounds, size>>20)
	for _, m := range []string{"curl MB/s", "Go client MB/s", "proxy CPU s/GiB", "conn+GET/s c=1", "p50 µs c=1", "p99 µs c=1", "proxy CPU µs/conn"} {
		fmt.Fprintf(&b, "%-18s", m)
		direct := res[m]["direct"].Median()
		for _, v := range variants {
			s, ok := res[m][v.Name]
			if !ok {
				continue
			}
			x := s.Median()
			ratio := ""
			if direct > 0 && strings.Contains(m, "/s") && !strings.Contains(m, "CPU") {
				ratio = fmt.Sprintf(" (%.2f)", x/direct)
			}
			if (strings.HasPrefix(m, "p50") || strings.HasPrefix(m, "p99")) && v.Name != "direct" {
				ratio = fmt.Sprintf(" (+%.0f)", x-direct)
			}
			fmt.Fprintf(&b, "  %s %.2f%s [%.0f–%.0f]", v.Name, x, ratio, s.Min(), s.Max())
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "agent RSS idle %.1f MiB, peak under 32 bulk downloads %.1f MiB\n", float64(r.idleRSS)/1024, float64(r.peakRSS)/1024)
	fmt.Fprintf(&b, "keystroke RTT over websocket+PTY: p50 %.0f µs, p90 %.0f µs, p99 %.0f µs\n", r.rtt[0], r.rtt[1], r.rtt[2])
	return b.String()
}

// keystrokes measures keystroke round trips through the agent's shell
// websocket and returns the p50, p90 and p99 in µs.
func keystrokes(t testing.TB, controlAddr, token string, n int) [3]float64 {
	cl := agentclient.New(controlAddr, token)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws, err := cl.DialShell(ctx, benchkit.KeystrokeArgv, 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	lat, err := benchkit.Keystrokes(ws, n, 100)
	if err != nil {
		t.Fatal(err)
	}
	return [3]float64{lat.Median(), lat.Percentile(90), lat.Percentile(99)}
}
