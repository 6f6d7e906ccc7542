//go:build linux

package perf

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/agentclient"
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
//
// Every variant runs once per round, in the same order, so drift hits all
// of them; the report gives medians and ratios to the direct path.

// TestMain doubles as the origin HTTP server when re-executed by TestPerf.
func TestMain(m *testing.M) {
	if addr := os.Getenv("MICROVM_PERF_ORIGIN"); addr != "" {
		origin(addr)
		return
	}
	os.Exit(m.Run())
}

// origin serves /bytes?n=N (N bytes from a 1 MiB buffer) and /small (64 B).
func origin(addr string) {
	block := bytes.Repeat([]byte("0123456789abcdef"), 1<<20/16)
	small := block[:64]
	mux := http.NewServeMux()
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		for n > 0 {
			k := min(n, int64(len(block)))
			if _, err := w.Write(block[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) { w.Write(small) })
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	http.Serve(ln, mux)
}

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v
	}
	return def
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(t testing.TB, addr string) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp4", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// startProc starts argv and stops it when the test ends.
func startProc(t testing.TB, env []string, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return cmd
}

type variant struct {
	name  string
	proxy string // "" for direct
	pid   int    // proxy process, for CPU and memory
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
	res      map[string]map[string][]float64 // metric -> variant -> samples
	idleRSS  int                             // agent, kB
	peakRSS  int                             // agent under 32 bulk downloads, kB
	rtt      [3]float64                      // keystroke p50, p90, p99 µs
}

func (r *report) median(metric, v string) float64 { return median(r.res[metric][v]) }

func (r *report) ratio(metric, v string) float64 {
	if d := r.median(metric, "direct"); d > 0 {
		return r.median(metric, v) / d
	}
	return 0
}

// measure starts the origin, the agent and microsocks and runs every
// metric in interleaved rounds.
func measure(t testing.TB, size int64, rounds int) *report {
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
	originAddr := freeAddr(t)
	startProc(t, []string{"MICROVM_PERF_ORIGIN=" + originAddr}, os.Args[0])
	waitListening(t, originAddr)

	token := "perf-token"
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(token), 0o600)
	controlAddr, socksAddr := freeAddr(t), freeAddr(t)
	agentCmd := startProc(t, nil, bin, "serve", "--control-addr", controlAddr, "--socks-addr", socksAddr, "--token-file", tokenFile)
	waitListening(t, socksAddr)
	waitListening(t, controlAddr)
	time.Sleep(200 * time.Millisecond)
	idleRSS := procStatus(agentCmd.Process.Pid, "VmRSS")

	variants := []variant{{name: "direct"}, {name: "agent", proxy: socksAddr, pid: agentCmd.Process.Pid}}
	for _, spec := range strings.Split(os.Getenv("MICROVM_BENCH_EXTRA"), ",") {
		name, envs, ok := strings.Cut(spec, ":")
		if !ok {
			continue
		}
		c, s := freeAddr(t), freeAddr(t)
		cmd := startProc(t, strings.Split(envs, ";"), bin, "serve", "--control-addr", c, "--socks-addr", s, "--token-file", tokenFile)
		waitListening(t, s)
		variants = append(variants, variant{name: name, proxy: s, pid: cmd.Process.Pid})
	}
	if ms, err := exec.LookPath("microsocks"); err == nil {
		host, port, _ := net.SplitHostPort(freeAddr(t))
		c := startProc(t, nil, ms, "-i", host, "-p", port)
		waitListening(t, net.JoinHostPort(host, port))
		variants = append(variants, variant{name: "microsocks", proxy: net.JoinHostPort(host, port), pid: c.Process.Pid})
	} else {
		t.Log("microsocks not installed: measuring without it")
	}

	res := map[string]map[string][]float64{}
	add := func(metric, v string, x float64) {
		if res[metric] == nil {
			res[metric] = map[string][]float64{}
		}
		res[metric][v] = append(res[metric][v], x)
	}
	_, curlErr := exec.LookPath("curl")
	only := os.Getenv("MICROVM_BENCH_ONLY")
	doBulk := only == "" || strings.Contains(only, "bulk")
	doConn := only == "" || strings.Contains(only, "conn")
	for r := range rounds {
		for _, v := range variants {
			if !doBulk {
				break
			}
			if curlErr == nil {
				cpu0 := procCPU(v.pid)
				mbps := curlDownload(t, v, originAddr, size)
				add("curl MB/s", v.name, mbps)
				if v.pid != 0 {
					add("proxy CPU s/GiB", v.name, (procCPU(v.pid)-cpu0)/(float64(size)/(1<<30)))
				}
			}
			add("Go client MB/s", v.name, goDownload(t, v, originAddr, size))
		}
		for _, v := range variants {
			if !doConn {
				break
			}
			cpu0 := procCPU(v.pid)
			rate, p50, p99, n := connRate(t, v, originAddr, 3000, 5*time.Second)
			if v.pid != 0 {
				add("proxy CPU µs/conn", v.name, (procCPU(v.pid)-cpu0)*1e6/float64(n+50))
			}
			add("conn+GET/s c=1", v.name, rate)
			add("p50 µs c=1", v.name, p50)
			add("p99 µs c=1", v.name, p99)
		}
		t.Logf("round %d done", r+1)
	}
	// Memory under 32 parallel bulk downloads through the agent.
	peak := bulkRSS(t, variants[1], originAddr, min(size, 64<<20))
	rtt := keystrokes(t, controlAddr, token, 2000)

	return &report{rounds: rounds, size: size, variants: variants, res: res, idleRSS: idleRSS, peakRSS: peak, rtt: rtt}
}

func (r *report) String() string {
	var b strings.Builder
	rounds, size, variants, res := r.rounds, r.size, r.variants, r.res
	fmt.Fprintf(&b, "\n%d rounds, bulk %d MiB, medians (ratio to direct)\n", rounds, size>>20)
	for _, m := range []string{"curl MB/s", "Go client MB/s", "proxy CPU s/GiB", "conn+GET/s c=1", "p50 µs c=1", "p99 µs c=1", "proxy CPU µs/conn"} {
		fmt.Fprintf(&b, "%-18s", m)
		direct := median(res[m]["direct"])
		for _, v := range variants {
			s, ok := res[m][v.name]
			if !ok {
				continue
			}
			x := median(s)
			ratio := ""
			if direct > 0 && strings.Contains(m, "/s") && !strings.Contains(m, "CPU") {
				ratio = fmt.Sprintf(" (%.2f)", x/direct)
			}
			if (strings.HasPrefix(m, "p50") || strings.HasPrefix(m, "p99")) && v.name != "direct" {
				ratio = fmt.Sprintf(" (+%.0f)", x-direct)
			}
			fmt.Fprintf(&b, "  %s %.2f%s [%s]", v.name, x, ratio, spread(s))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "agent RSS idle %.1f MiB, peak under 32 bulk downloads %.1f MiB\n", float64(r.idleRSS)/1024, float64(r.peakRSS)/1024)
	fmt.Fprintf(&b, "keystroke RTT over websocket+PTY: p50 %.0f µs, p90 %.0f µs, p99 %.0f µs\n", r.rtt[0], r.rtt[1], r.rtt[2])
	return b.String()
}

func median(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return s[len(s)/2]
}

func spread(s []float64) string {
	return fmt.Sprintf("%.0f–%.0f", slices.Min(s), slices.Max(s))
}

// procCPU is a process's user+system CPU seconds so far.
func procCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// procStatus reads a kB field of /proc/pid/status.
func procStatus(pid int, field string) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

func curlDownload(t testing.TB, v variant, origin string, size int64) float64 {
	args := []string{"-s", "-o", "/dev/null", "-w", "%{speed_download}", "--max-time", "120"}
	if v.proxy != "" {
		args = append(args, "--socks5-hostname", v.proxy)
	}
	args = append(args, fmt.Sprintf("http://%s/bytes?n=%d", origin, size))
	out, err := exec.Command("curl", args...).Output()
	if err != nil {
		t.Fatalf("curl %s: %v", v.name, err)
	}
	bps, _ := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	return bps / 1e6
}

// dial connects to origin, through v's proxy when it has one, with a
// SOCKS5 no-auth greeting and a CONNECT naming the host as a domain (as
// curl --socks5-hostname does).
func dial(v variant, origin string) (net.Conn, error) {
	if v.proxy == "" {
		return net.Dial("tcp4", origin)
	}
	c, err := net.Dial("tcp4", v.proxy)
	if err != nil {
		return nil, err
	}
	host, portS, _ := net.SplitHostPort(origin)
	port, _ := strconv.Atoi(portS)
	var buf [64]byte
	if _, err := c.Write([]byte{5, 1, 0}); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := io.ReadFull(c, buf[:2]); err != nil || buf[1] != 0 {
		c.Close()
		return nil, fmt.Errorf("greeting: %x %v", buf[:2], err)
	}
	req := append([]byte{5, 1, 0, 3, byte(len(host))}, host...)
	req = append(req, byte(port>>8), byte(port))
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := io.ReadFull(c, buf[:10]); err != nil || buf[1] != 0 {
		c.Close()
		return nil, fmt.Errorf("connect: %x %v", buf[:10], err)
	}
	return c, nil
}

func goDownload(t testing.TB, v variant, origin string, size int64) float64 {
	c, err := dial(v, origin)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "GET /bytes?n=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", size)
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 64<<10))
	if err != nil || n != size {
		t.Fatalf("%s: %d bytes, %v", v.name, n, err)
	}
	return float64(size) / time.Since(start).Seconds() / 1e6
}

// connRate runs new connection + GET /small, one at a time, for at most n
// requests or d, after 50 warm-up requests. It returns requests per second,
// the p50 and p99 latency in µs and the number of measured requests.
func connRate(t testing.TB, v variant, origin string, n int, d time.Duration) (rate, p50, p99 float64, count int) {
	one := func() error {
		c, err := dial(v, origin)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, c)
		return err
	}
	for range 50 {
		if err := one(); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
	}
	lat := make([]float64, 0, n)
	start := time.Now()
	for len(lat) < n && time.Since(start) < d {
		t0 := time.Now()
		if err := one(); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		lat = append(lat, float64(time.Since(t0).Microseconds()))
	}
	el := time.Since(start)
	slices.Sort(lat)
	return float64(len(lat)) / el.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100], len(lat)
}

// bulkRSS runs 32 parallel downloads through v and returns the peak RSS
// (kB) of v's process, sampled every 50 ms and read from VmHWM.
func bulkRSS(t testing.TB, v variant, origin string, size int64) int {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", v.pid), []byte("5"), 0)
	stop := make(chan struct{})
	peak := 0
	var samp sync.WaitGroup
	samp.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, procStatus(v.pid, "VmRSS"))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() { goDownload(t, v, origin, size) })
	}
	wg.Wait()
	close(stop)
	samp.Wait()
	return max(peak, procStatus(v.pid, "VmHWM"))
}

// keystrokes sends one byte at a time to `cat` on a raw PTY through the
// agent's shell websocket and waits for its echo. It returns the p50, p90
// and p99 round trip in µs after 100 warm-up keys.
func keystrokes(t testing.TB, controlAddr, token string, n int) [3]float64 {
	cl := agentclient.New(controlAddr, token)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws, err := cl.DialShell(ctx, []string{"sh", "-c", "stty raw -echo && echo ready && exec cat"}, 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var got []byte
	for !bytes.Contains(got, []byte("ready")) {
		_, m, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m[1:]...)
	}
	frame := []byte{agentapi.ChannelStdin, 'x'}
	lat := make([]float64, 0, n)
	for i := range n + 100 {
		t0 := time.Now()
		if err := ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
			t.Fatal(err)
		}
		for {
			_, m, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if len(m) > 1 && m[0] == agentapi.ChannelOutput && bytes.IndexByte(m[1:], 'x') >= 0 {
				break
			}
		}
		if i >= 100 {
			lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e3)
		}
	}
	slices.Sort(lat)
	return [3]float64{lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)*99/100]}
}
