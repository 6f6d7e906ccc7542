//go:build linux

package agentclient_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agent"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/agentclient"
	"github.com/velocitty/microvm/guest/internal/leakcheck"
	"github.com/velocitty/microvm/guest/logring"
	"github.com/velocitty/microvm/guest/shell"
	"github.com/velocitty/microvm/guest/shellproto"
)

const token = "test-token-0123456789"

type env struct {
	addr   string
	client *agentclient.Client
	ring   *logring.Ring
	srv    *agent.Server
	done   chan error
	cancel context.CancelFunc
}

// start runs an agent on a loopback port with cfg (its token and ring are
// filled in) and returns a client for it. Everything stops at cleanup.
func start(t *testing.T, cfg agent.Config) *env {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{addr: ln.Addr().String(), ring: logring.NewRing(100), done: make(chan error, 1)}
	cfg.Token = token
	cfg.Ring = e.ring
	cfg.Logger = newLogger(e.ring)
	e.srv, err = agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- e.srv.Run(ctx, ln) }()
	e.client = agentclient.New(e.addr, token)
	t.Cleanup(func() {
		e.client.Close()
		cancel()
		if err := <-e.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return e
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPingInfo(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	if err := e.client.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
	info, err := e.client.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if info.Version != agentapi.Version || info.Hostname != host || info.Kernel == "" || info.PID != os.Getpid() || info.UptimeSeconds <= 0 {
		t.Errorf("info: %+v", info)
	}
}

func TestErrorClasses(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	bad := agentclient.New(e.addr, "wrong")
	defer bad.Close()
	if err := bad.Ping(ctx(t)); !errors.Is(err, errdefs.ErrUnauthorized) {
		t.Errorf("wrong token ping: %v", err)
	}
	if _, err := bad.Exec(ctx(t), agentapi.ExecRequest{Argv: []string{"true"}}); !errors.Is(err, errdefs.ErrUnauthorized) {
		t.Errorf("wrong token exec: %v", err)
	}
	if _, err := bad.DialShell(ctx(t), nil, 80, 24); !errors.Is(err, errdefs.ErrUnauthorized) {
		t.Errorf("wrong token shell: %v", err)
	}
	// Without any Authorization header, and with the 401 body in JSON.
	resp, err := http.Get("http://" + e.addr + agentapi.PathPing)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("no token: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	http.DefaultClient.CloseIdleConnections()

	ln, _ := net.Listen("tcp4", "127.0.0.1:0")
	gone := ln.Addr().String()
	ln.Close()
	down := agentclient.New(gone, token)
	defer down.Close()
	if err := down.Ping(ctx(t)); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("nobody listening: %v", err)
	}
	if _, err := down.DialShell(ctx(t), nil, 0, 0); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("nobody listening, shell: %v", err)
	}

	for _, req := range []agentapi.ExecRequest{
		{},
		{Argv: []string{""}},
		{Argv: []string{"true"}, TimeoutSeconds: -1},
		{Argv: []string{"true"}, Env: []string{"NOEQUALS"}},
		{Argv: []string{"/no/such/program"}},
		{Argv: []string{"no-such-program-anywhere"}},
		{Argv: []string{"true"}, Dir: "/no/such/dir"},
	} {
		if _, err := e.client.Exec(ctx(t), req); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("Exec(%+v): %v, want ErrInvalid", req, err)
		}
	}
	if _, err := e.client.Exec(ctx(t), agentapi.ExecRequest{Argv: []string{"cat"}, Stdin: strings.Repeat("x", 17<<20)}); !errors.Is(err, errdefs.ErrTooLarge) {
		t.Errorf("huge request: %v", err)
	}
	if _, err := e.client.DialShell(ctx(t), []string{"no-such-shell"}, 0, 0); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("shell of a missing program: %v", err)
	}
}

func TestExec(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	dir := t.TempDir()
	res, err := e.client.Exec(ctx(t), agentapi.ExecRequest{
		Argv:  []string{"sh", "-c", `read line; echo "out:$line:$FOO:$(pwd)"; echo err >&2; exit 3`},
		Stdin: "hello\n",
		Env:   []string{"FOO=bar"},
		Dir:   dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || res.Stdout != "out:hello:bar:"+dir+"\n" || res.Stderr != "err\n" || res.TimedOut || res.Signal != "" {
		t.Errorf("result: %+v", res)
	}
	res, err = e.client.Exec(ctx(t), agentapi.ExecRequest{Argv: []string{"sh", "-c", "kill -TERM $$"}})
	if err != nil || res.ExitCode != -1 || res.Signal != "terminated" {
		t.Errorf("signalled: %+v %v", res, err)
	}
	res, err = e.client.Exec(ctx(t), agentapi.ExecRequest{Argv: []string{"env"}})
	if err != nil || !strings.Contains(res.Stdout, "PATH=") || !strings.Contains(res.Stdout, "HOME=") {
		t.Errorf("default env: %+v %v", res, err)
	}
}

// TestExecTimeoutKillsGroup checks that a timeout kills the program and
// its children, not only the program.
func TestExecTimeoutKillsGroup(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	res, err := e.client.Exec(ctx(t), agentapi.ExecRequest{
		Argv:           []string{"sh", "-c", "sleep 60 & echo $! > " + pidFile + "; wait"},
		TimeoutSeconds: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.ExitCode != -1 || res.Signal != "killed" {
		t.Errorf("result: %+v", res)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	waitGone(t, readPid(t, pidFile))
}

func readPid(t *testing.T, file string) int {
	t.Helper()
	var b []byte
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ = os.ReadFile(file)
		if bytes.HasSuffix(b, []byte("\n")) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file: %q", b)
	}
	return pid
}

// waitGone waits until pid is dead (gone, or a zombie awaiting its reaper).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("process %d outlived its owner", pid)
}

func TestExecOutputCap(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{MaxOutput: 1 << 20})
	res, err := e.client.Exec(ctx(t), agentapi.ExecRequest{Argv: []string{"sh", "-c", "head -c 3000000 /dev/zero; head -c 10 /dev/zero >&2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stdout) != 1<<20 || !res.StdoutTruncated || len(res.Stderr) != 10 || res.StderrTruncated || res.ExitCode != 0 {
		t.Errorf("stdout %d bytes truncated=%v, stderr %d truncated=%v, exit %d",
			len(res.Stdout), res.StdoutTruncated, len(res.Stderr), res.StderrTruncated, res.ExitCode)
	}
}

func TestLogs(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	bad := agentclient.New(e.addr, "nope")
	bad.Ping(ctx(t))
	bad.Close()
	logs, err := e.client.Logs(ctx(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) == 0 || !strings.Contains(logs[len(logs)-1].Message, "unauthorized_request") || logs[len(logs)-1].Source != "agent" {
		t.Errorf("logs: %+v", logs)
	}
	if logs, err := e.client.Logs(ctx(t), 1); err != nil || len(logs) != 1 {
		t.Errorf("limit 1: %d entries, %v", len(logs), err)
	}
}

// session reads a shell's frames until the status frame and the close.
type session struct {
	t      *testing.T
	ws     *websocket.Conn
	output bytes.Buffer
}

func dialShell(t *testing.T, c *agentclient.Client, argv []string, cols, rows uint16) *session {
	t.Helper()
	ws, err := c.DialShell(ctx(t), argv, cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	return &session{t: t, ws: ws}
}

func (s *session) send(ch byte, data []byte) {
	s.t.Helper()
	if err := s.ws.WriteMessage(websocket.BinaryMessage, shellproto.Encode(ch, data)); err != nil {
		s.t.Fatal(err)
	}
}

// waitFor reads output until it contains want.
func (s *session) waitFor(want string) {
	s.t.Helper()
	for !strings.Contains(s.output.String(), want) {
		_, msg, err := s.ws.ReadMessage()
		if err != nil {
			s.t.Fatalf("waiting for %q: %v; output so far %q", want, err, s.output.String())
		}
		f, err := shellproto.Decode(msg)
		if err != nil || f.Channel != agentapi.ChannelOutput {
			s.t.Fatalf("waiting for %q: frame %q %v", want, msg, err)
		}
		s.output.Write(f.Data)
	}
}

// end reads to the status frame and the close that follows it.
func (s *session) end() (agentapi.ShellStatus, *websocket.CloseError) {
	s.t.Helper()
	var st *agentapi.ShellStatus
	for {
		_, msg, err := s.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				s.t.Fatalf("read: %v", err)
			}
			if st == nil {
				s.t.Fatalf("closed (%v) without a status frame", ce)
			}
			return *st, ce
		}
		f, err := shellproto.Decode(msg)
		if err != nil {
			s.t.Fatal(err)
		}
		switch f.Channel {
		case agentapi.ChannelOutput:
			s.output.Write(f.Data)
		case agentapi.ChannelStatus:
			got, err := f.Status()
			if err != nil {
				s.t.Fatal(err)
			}
			st = &got
		default:
			s.t.Fatalf("frame on channel %d", f.Channel)
		}
	}
}

func TestShellExitStatus(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	s := dialShell(t, e.client, []string{"sh", "-c", "echo hi; exit 3"}, 0, 0)
	st, ce := s.end()
	if st.ExitCode != 3 || st.Reason != "" || ce.Code != websocket.CloseNormalClosure {
		t.Errorf("status %+v, close %v", st, ce)
	}
	if !strings.Contains(s.output.String(), "hi") {
		t.Errorf("output %q", s.output.String())
	}
	s = dialShell(t, e.client, []string{"sh", "-c", "kill -KILL $$"}, 0, 0)
	if st, _ := s.end(); st.ExitCode != -1 || st.Signal != "killed" {
		t.Errorf("killed shell: %+v", st)
	}
}

func TestShellLoginShellAndEnv(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	s := dialShell(t, e.client, nil, 0, 0)
	s.send(agentapi.ChannelStdin, []byte("echo \"term=$TERM\"; exit 5\r"))
	st, _ := s.end()
	if st.ExitCode != 5 || !strings.Contains(s.output.String(), "term=xterm-256color") {
		t.Errorf("status %+v, output %q", st, s.output.String())
	}
}

func TestShellResize(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	s := dialShell(t, e.client, []string{"sh", "-c", "stty size; echo ok; read x; stty size; exit 0"}, 100, 30)
	s.waitFor("ok")
	if !strings.Contains(s.output.String(), "30 100") {
		t.Errorf("initial size: %q", s.output.String())
	}
	s.ws.WriteMessage(websocket.BinaryMessage, shellproto.EncodeResize(132, 43))
	s.send(agentapi.ChannelStdin, []byte("\r"))
	st, _ := s.end()
	if st.ExitCode != 0 || !strings.Contains(s.output.String(), "43 132") {
		t.Errorf("after resize: %+v %q", st, s.output.String())
	}
}

func TestShellBadFrames(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	// A healthy shell that must outlive its misbehaving neighbours.
	healthy := dialShell(t, e.client, []string{"sh", "-c", "read x; echo \"got $x\"; exit 4"}, 0, 0)
	for _, tc := range []struct {
		name   string
		typ    int
		msg    []byte
		code   int
		reason string
	}{
		{"unknown channel", websocket.BinaryMessage, []byte{7, 'x'}, websocket.CloseProtocolError, "unknown channel 7"},
		{"truncated", websocket.BinaryMessage, []byte{}, websocket.CloseProtocolError, "truncated frame"},
		{"bad resize", websocket.BinaryMessage, []byte{agentapi.ChannelResize, '{'}, websocket.CloseProtocolError, "malformed payload"},
		{"output from client", websocket.BinaryMessage, []byte{agentapi.ChannelOutput, 'x'}, websocket.CloseProtocolError, "not sent by clients"},
		{"text", websocket.TextMessage, []byte("ls"), websocket.CloseUnsupportedData, "text frames"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := dialShell(t, e.client, []string{"sleep", "60"}, 0, 0)
			s.ws.WriteMessage(tc.typ, tc.msg)
			st, ce := s.end()
			if ce.Code != tc.code || !strings.Contains(ce.Text, tc.reason) {
				t.Errorf("close %d %q, want %d %q", ce.Code, ce.Text, tc.code, tc.reason)
			}
			if !strings.Contains(st.Reason, tc.reason) || st.Signal != "hangup" {
				t.Errorf("status %+v", st)
			}
		})
	}
	// Too large a frame: the websocket library refuses it.
	s := dialShell(t, e.client, []string{"sleep", "60"}, 0, 0)
	s.ws.WriteMessage(websocket.BinaryMessage, make([]byte, shellproto.MaxFrameSize+1))
	for {
		_, msg, err := s.ws.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
				t.Errorf("oversized frame: %v", err)
			}
			break
		}
		t.Logf("before the close: %q", msg)
	}
	healthy.send(agentapi.ChannelStdin, []byte("fine\r"))
	if st, _ := healthy.end(); st.ExitCode != 4 || !strings.Contains(healthy.output.String(), "got fine") {
		t.Errorf("healthy shell: %+v %q", st, healthy.output.String())
	}
}

// TestShellClientGone checks that dropping the connection ends the shell
// and everything it started.
func TestShellClientGone(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{Shell: shell.Config{HangupGrace: 500 * time.Millisecond}})
	pidFile := filepath.Join(t.TempDir(), "pids")
	// The background job ignores SIGHUP, so it takes the SIGKILL step.
	s := dialShell(t, e.client, []string{"sh", "-c", "trap '' HUP; sleep 60 & echo $$ $! > " + pidFile + "; echo started; wait"}, 0, 0)
	s.waitFor("started")
	b, _ := os.ReadFile(pidFile)
	s.ws.NetConn().Close()
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		waitGone(t, pid)
	}
}

// TestShellSlowClient checks that a client that never reads holds the
// agent to bounded memory, is dropped after the write timeout, and takes
// only its own shell with it.
func TestShellSlowClient(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{Shell: shell.Config{WriteTimeout: time.Second, HangupGrace: 200 * time.Millisecond}})
	pidFile := filepath.Join(t.TempDir(), "pid")
	s := dialShell(t, e.client, []string{"sh", "-c", "echo $$ > " + pidFile + "; exec yes flood"}, 0, 0)
	pid := readPid(t, pidFile)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// Meanwhile another client is served normally.
	other := dialShell(t, e.client, []string{"sh", "-c", "exit 9"}, 0, 0)
	if st, _ := other.end(); st.ExitCode != 9 {
		t.Errorf("other shell: %+v", st)
	}
	time.Sleep(500 * time.Millisecond)
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	if grow := int64(during.HeapInuse) - int64(before.HeapInuse); grow > 8<<20 {
		t.Errorf("heap grew by %d bytes under a client that does not read", grow)
	}
	waitGone(t, pid) // dropped after the write timeout
	_ = s
}

func TestManyShells(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := dialShell(t, e.client, []string{"sh", "-c", "read x; echo \"got $x\"; exit $x"}, 80, 24)
			s.send(agentapi.ChannelStdin, []byte(strconv.Itoa(i)+"\r"))
			st, ce := s.end()
			if st.ExitCode != i || ce.Code != websocket.CloseNormalClosure || !strings.Contains(s.output.String(), "got "+strconv.Itoa(i)) {
				t.Errorf("shell %d: %+v %v %q", i, st, ce, s.output.String())
			}
		})
	}
	wg.Wait()
}

func TestShellLimit(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{MaxShells: 1})
	s := dialShell(t, e.client, []string{"sleep", "60"}, 0, 0)
	if _, err := e.client.DialShell(ctx(t), []string{"true"}, 0, 0); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("second shell: %v", err)
	}
	s.ws.Close()
}

func TestExecLimit(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{MaxExecs: 1})
	done := make(chan error, 1)
	go func() {
		_, err := e.client.Exec(ctx(t), agentapi.ExecRequest{Argv: []string{"sleep", "0.5"}})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := e.client.Exec(ctx(t), agentapi.ExecRequest{Argv: []string{"true"}}); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("second exec: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Exec(ctx(t), agentapi.ExecRequest{Argv: []string{"true"}}); err != nil {
		t.Errorf("after the first ended: %v", err)
	}
}

// TestShellCrossOrigin checks that a browser page cannot open a shell.
func TestShellCrossOrigin(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	d := websocket.Dialer{Subprotocols: []string{agentapi.ShellSubprotocol}}
	h := http.Header{"Authorization": {"Bearer " + token}, "Origin": {"http://evil.example"}}
	ws, resp, err := d.Dial("ws://"+e.addr+agentapi.PathShell+"?argv=true", h)
	if err == nil {
		ws.Close()
		t.Fatal("cross-origin shell opened")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("status %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestShutdown(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{Shell: shell.Config{HangupGrace: 500 * time.Millisecond}})
	s := dialShell(t, e.client, []string{"sh", "-c", "echo up; sleep 60"}, 0, 0)
	s.waitFor("up")
	execDone := make(chan agentapi.ExecResult, 1)
	go func() {
		res, _ := e.client.Exec(context.Background(), agentapi.ExecRequest{Argv: []string{"sleep", "60"}})
		execDone <- res
	}()
	time.Sleep(200 * time.Millisecond)
	if err := e.client.Shutdown(ctx(t)); err != nil {
		t.Fatal(err)
	}
	st, ce := s.end()
	if st.Reason != shell.ReasonShutdown || ce.Code != websocket.CloseGoingAway {
		t.Errorf("shell at shutdown: %+v %v", st, ce)
	}
	select {
	case res := <-execDone:
		if res.Signal != "killed" {
			t.Errorf("exec at shutdown: %+v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("exec survived shutdown")
	}
	select {
	case err := <-e.done:
		e.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
}

func TestExtraHandler(t *testing.T) {
	leakcheck.Check(t)
	e := start(t, agent.Config{})
	e.srv.Handle("/agent/v1/extra", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for tok, want := range map[string]int{token: http.StatusTeapot, "wrong": http.StatusUnauthorized} {
		req, _ := http.NewRequest("GET", "http://"+e.addr+"/agent/v1/extra", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("token %q: %d, want %d", tok, resp.StatusCode, want)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}
