package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/agentclient"
	"github.com/velocitty/microvm/guest/shellproto"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/machine/machinetest"
	"github.com/velocitty/microvm/server"
)

// rawCat puts the terminal in raw mode without echo and echoes stdin
// back, so one byte in gives exactly one byte out.
const rawCat = "argv=/bin/sh&argv=-c&argv=stty+raw+-echo%3B+echo+ready%3B+exec+cat"

// BenchmarkShellKeystroke measures the round trip of one keystroke (one
// byte in, its echo out) through the daemon's relay and, for comparison,
// straight to the agent, with the shell's terminal in raw mode.
//
//	go test -run '^$' -bench ShellKeystroke -benchtime 2000x ./server/
func BenchmarkShellKeystroke(b *testing.B) {
	a := startAgent(b)
	b.Run("agent", func(b *testing.B) {
		ws, err := agentclient.New(a.addr, a.token).DialShell(b.Context(),
			[]string{"/bin/sh", "-c", "stty raw -echo; echo ready; exec cat"}, 80, 24)
		if err != nil {
			b.Fatal(err)
		}
		defer ws.Close()
		keystrokes(b, &shellClient{t: b, ws: ws})
	})
	b.Run("daemon", func(b *testing.B) {
		e := newShellEnv(b, a)
		keystrokes(b, e.open(b, rawCat))
	})
}

func keystrokes(b *testing.B, c *shellClient) {
	c.expect("ready")
	lat := make([]time.Duration, 0, b.N)
	key := shellproto.Encode(agentapi.ChannelStdin, []byte{'k'})
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		c.write(key)
		for got := 0; got < 1; {
			f, err := c.next()
			if err != nil {
				b.Fatal(err)
			}
			if f.Channel == agentapi.ChannelOutput {
				got += len(f.Data)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p int) float64 { return float64(lat[(len(lat)-1)*p/100].Nanoseconds()) / 1e3 }
	b.ReportMetric(pct(50), "p50-µs")
	b.ReportMetric(pct(99), "p99-µs")
}

// shellDaemonEnv makes the test binary serve the API as a daemon of its
// own, relaying shells to the agent named in it ("ADDR TOKEN"), so that
// a benchmark can measure the relay's process alone.
const shellDaemonEnv = "MICROVM_SHELL_TEST_DAEMON"

// runShellDaemon serves until its stdin closes; it prints its URL first.
func runShellDaemon() int {
	addr, token, _ := strings.Cut(os.Getenv(shellDaemonEnv), " ")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "microvm-shell-daemon-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.DiscardHandler)
	be := machinetest.NewBackend()
	mgr, err := machine.New(ctx, machine.Config{DataDir: dir, Logger: log,
		Backends: map[string]machine.Backend{"linux": be}, DefaultBackend: "linux", Agents: be.Agents})
	if err == nil {
		_, err = mgr.Start(ctx, "default")
	}
	ln, lerr := net.Listen("tcp4", "127.0.0.1:0")
	if err = errors.Join(err, lerr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	h, err := server.New(server.Config{Logger: log, Machines: mgr,
		Shells: agentAt{mgr, &testAgent{addr: addr, token: token}},
		Token:  testToken, Port: ln.Addr().(*net.TCPAddr).Port})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: h, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
		srv.Close()
	}()
	fmt.Println("http://" + ln.Addr().String())
	srv.Serve(ln)
	return 0
}

// BenchmarkShellStream streams output from 50 shells at once through a
// daemon running as a process of its own, and reports that process's
// peak resident memory and the aggregate throughput. Each shell prints
// MICROVM_SHELL_STREAM_MB (default 10) MB.
//
//	go test -run '^$' -bench ShellStream -benchtime 1x ./server/
func BenchmarkShellStream(b *testing.B) {
	const shells = 50
	mb := 10
	if v, err := strconv.Atoi(os.Getenv("MICROVM_SHELL_STREAM_MB")); err == nil && v > 0 {
		mb = v
	}
	a := startAgent(b)
	// Raw mode: the terminal must not turn "\n" into "\r\n".
	script := fmt.Sprintf("stty raw -echo; yes | head -c %d", mb<<20)
	b.Run("agent", func(b *testing.B) {
		stream(b, shells, mb, func() *shellClient {
			ws, err := agentclient.New(a.addr, a.token).DialShell(b.Context(), []string{"/bin/sh", "-c", script}, 80, 24)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { ws.Close() })
			return &shellClient{t: b, ws: ws}
		})
	})
	b.Run("daemon", func(b *testing.B) {
		url, pid := startShellDaemon(b, a)
		e := &shellEnv{url: url}
		stream(b, shells, mb, func() *shellClient {
			return e.open(b, "argv=/bin/sh&argv=-c&argv="+neturl.QueryEscape(script))
		})
		hwm := procStatusKiB(b, pid, "VmHWM")
		b.ReportMetric(float64(hwm)/1024, "peak-RSS-MiB")
		if hwm > 60<<10 {
			b.Errorf("daemon peak RSS %d KiB, want under 60 MiB", hwm)
		}
	})
}

// stream opens n shells with open, reads them all to their end, and
// reports the aggregate throughput.
func stream(b *testing.B, n, mb int, open func() *shellClient) {
	for b.Loop() {
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var total int64
		for range n {
			c := open()
			wg.Go(func() {
				got, err := drain(c)
				mu.Lock()
				total += got
				mu.Unlock()
				if err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		if total != int64(n)*int64(mb<<20) {
			b.Errorf("received %d bytes, want %d", total, n*(mb<<20))
		}
		b.ReportMetric(float64(total)/(1<<20)/elapsed.Seconds(), "MiB/s")
	}
}

// drain reads a shell's output until its status and returns the count.
func drain(c *shellClient) (int64, error) {
	var n int64
	for {
		c.ws.SetReadDeadline(time.Now().Add(time.Minute))
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return n, fmt.Errorf("after %d bytes: %w", n, err)
		}
		switch msg[0] {
		case agentapi.ChannelOutput:
			n += int64(len(msg) - 1)
		case agentapi.ChannelStatus:
			c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return n, nil
		}
	}
}

// startShellDaemon runs the test binary as a daemon relaying to a.
func startShellDaemon(b *testing.B, a *testAgent) (url string, pid int) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), shellDaemonEnv+"="+a.addr+" "+a.token)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("daemon: %v", err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid
}

// procStatusKiB reads a "Key: N kB" line of /proc/PID/status.
func procStatusKiB(b *testing.B, pid int, key string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}
