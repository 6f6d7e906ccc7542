//go:build bench && linux

package bench

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/client"
	"github.com/velocitty/microvm/guest/agentclient"
	"github.com/velocitty/microvm/internal/benchkit"
	"github.com/velocitty/microvm/internal/benchreport"
)

// lifecycle stops and starts the VM through the API, against creating the
// same namespaces with unshare(1) and running true in them.
func (b *bench) lifecycle() []benchreport.Row {
	start, stop := samples{}, samples{}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	for range b.k.cycles {
		t0 := time.Now()
		if _, err := b.c.StopVM(b.ctx(), vmName); err != nil {
			b.t.Fatal(err)
		}
		stop.add("microvm", ms(time.Since(t0)))
		t0 = time.Now()
		vm, err := b.c.StartVM(b.ctx(), vmName)
		if err != nil {
			b.t.Fatal(err)
		}
		start.add("microvm", ms(time.Since(t0)))
		b.vm = vm

		t0 = time.Now()
		if out, err := exec.Command("unshare", "--mount", "--pid", "--uts", "--ipc", "--fork", "--mount-proc", "true").CombinedOutput(); err != nil {
			b.t.Fatalf("unshare: %v: %s", err, out)
		}
		start.add("unshare", ms(time.Since(t0)))
	}
	const sec = "VM lifecycle (Linux sandbox)"
	first := benchreport.StatOf("microvm", benchkit.Samples{ms(b.firstStart)})
	rows := []benchreport.Row{
		start.row(sec, "start, image already unpacked, until the agent answers", "ms", benchreport.Lower, "microvm", "unshare", ""),
		benchreport.NewRow(sec, "stop, until every guest process is gone", "ms", benchreport.Lower, stop.stat("microvm"), nil, nil),
		benchreport.NewRow(sec, "first start, unpacking the image", "ms", benchreport.Lower, first, nil, nil),
	}
	rows[0].Note = "baseline: unshare --mount --pid --uts --ipc --fork --mount-proc true"
	return rows
}

// keystrokes compares the shell's keystroke round trip through the daemon
// with the same shell opened on the agent directly.
func (b *bench) keystrokes() []benchreport.Row {
	p50, p99 := samples{}, samples{}
	tok, err := os.ReadFile(filepath.Join(b.dataDir, "vms", vmName, "token"))
	if err != nil {
		b.t.Fatal(err)
	}
	agent := agentclient.New(b.vm.AgentAddress, strings.TrimSpace(string(tok)))
	defer agent.Close()
	for range b.k.rounds {
		for _, via := range []string{"agent", "microvm"} {
			var ws *websocket.Conn
			if via == "agent" {
				ws, err = agent.DialShell(b.ctx(), benchkit.KeystrokeArgv, 80, 24)
			} else {
				ws, err = b.dialShell()
			}
			if err != nil {
				b.t.Fatalf("shell via %s: %v", via, err)
			}
			lat, err := benchkit.Keystrokes(ws, b.k.keys, b.k.keysWarm)
			ws.Close()
			if err != nil {
				b.t.Fatalf("via %s: %v", via, err)
			}
			p50.add(via, lat.Median())
			p99.add(via, lat.Percentile(99))
		}
	}
	const sec = "Shell (websocket + PTY, one byte and its echo)"
	return []benchreport.Row{
		p50.row(sec, "keystroke round trip, p50", "µs", benchreport.Lower, "microvm", "agent", ""),
		p99.row(sec, "keystroke round trip, p99", "µs", benchreport.Lower, "microvm", "agent", ""),
	}
}

// dialShell opens the daemon's shell websocket as any client would.
func (b *bench) dialShell() (*websocket.Conn, error) {
	q := url.Values{"cols": {"80"}, "rows": {"24"}, "argv": benchkit.KeystrokeArgv}
	u := strings.Replace(b.c.URL(), "http://", "ws://", 1) + "/v1/vms/" + vmName + "/shell?" + q.Encode()
	d := websocket.Dialer{Subprotocols: []string{client.ShellSubprotocol}, HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(b.ctx(), u, http.Header{"Authorization": {"Bearer " + b.token}})
	if resp != nil {
		resp.Body.Close()
	}
	return ws, err
}

// api compares the daemon's GET of a VM with a bare net/http handler
// answering the same JSON, with wrk, and the two processes' memory.
func (b *bench) api() []benchreport.Row {
	bare := b.bareHandler()
	daemonPID := b.daemon.Process.Pid
	targets := []struct {
		name, url, token string
		pid              int
	}{
		{"bare", bare.url + "/v1/vms/default", bare.token, bare.pid},
		{"microvm", b.c.URL() + "/v1/vms/" + vmName, b.token, daemonPID},
	}
	rps, p99, cpu, idle, loaded := samples{}, samples{}, samples{}, samples{}, samples{}
	for range b.k.rounds {
		for _, tg := range targets {
			idle.add(tg.name, float64(benchkit.StatusKB(tg.pid, "VmRSS"))/1024)
			cpu0 := benchkit.CPUSeconds(tg.pid)
			var res wrkResult
			kb, err := benchkit.PeakRSS(tg.pid, func() error {
				var err error
				res, err = wrk(b, tg.url, tg.token)
				return err
			})
			if err != nil {
				b.t.Fatalf("%s: %v", tg.name, err)
			}
			rps.add(tg.name, res.rps)
			p99.add(tg.name, res.p99ms)
			cpu.add(tg.name, (benchkit.CPUSeconds(tg.pid)-cpu0)*1e6/float64(res.requests))
			loaded.add(tg.name, float64(kb)/1024)
		}
	}
	const sec = "HTTP API (wrk -t2 -c64, GET of one VM)"
	rows := []benchreport.Row{
		rps.row(sec, "requests per second", "req/s", benchreport.Higher, "microvm", "bare", ""),
		p99.row(sec, "latency p99", "ms", benchreport.Lower, "microvm", "bare", ""),
		cpu.row(sec, "server CPU per request", "µs", benchreport.Lower, "microvm", "bare", ""),
		idle.row(sec, "daemon RSS, idle", "MiB", benchreport.Lower, "microvm", "bare", ""),
		loaded.row(sec, "daemon RSS, peak under wrk", "MiB", benchreport.Lower, "microvm", "bare", ""),
	}
	rows[0].Note = "microvm: token, Host and Origin checks, OpenAPI validation, logging, the real VM manager; bare: net/http and encoding/json"
	return rows
}

type bareServer struct {
	url, token string
	pid        int
}

// bareHandler builds and starts bench/restbench in its bare mode.
func (b *bench) bareHandler() bareServer {
	exe := filepath.Join(b.t.TempDir(), "restbench")
	if out, err := exec.Command("go", "build", "-o", exe, "./restbench").CombinedOutput(); err != nil {
		b.t.Fatalf("build restbench: %v\n%s", err, out)
	}
	cmd := exec.Command(exe, "-mode", "bare")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 2 {
		b.t.Fatalf("restbench: %q %v", line, err)
	}
	return bareServer{url: f[0], token: f[1], pid: cmd.Process.Pid}
}

type wrkResult struct {
	rps, p99ms float64
	requests   int
}

func wrk(b *bench, url, token string) (wrkResult, error) {
	out, err := exec.CommandContext(b.ctx(), "wrk", "-t2", "-c64", "-d"+b.k.wrkTime, "--latency",
		"-H", "Authorization: Bearer "+token, url).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v\n%s", url, err, out)
	}
	var r wrkResult
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case strings.Contains(line, "Non-2xx"), strings.Contains(line, "Socket errors"):
			return r, fmt.Errorf("wrk %s: %s", url, strings.TrimSpace(line))
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.rps, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "99%":
			r.p99ms, err = wrkDuration(f[1])
			if err != nil {
				return r, err
			}
		case len(f) > 3 && f[1] == "requests" && f[2] == "in":
			r.requests, _ = strconv.Atoi(f[0])
		}
	}
	if r.rps == 0 || r.requests == 0 {
		return r, fmt.Errorf("wrk %s: no result in\n%s", url, out)
	}
	return r, nil
}

// wrkDuration parses wrk's "850.00us", "1.20ms" or "2.00s" into ms.
func wrkDuration(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			x, err := strconv.ParseFloat(v, 64)
			return x * u.ms, err
		}
	}
	return 0, fmt.Errorf("wrk: unknown duration %q", s)
}
