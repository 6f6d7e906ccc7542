package vpn

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/internal/vpnlab"
)

// testWriter sends log output to t.Log until the test ends.
type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
	all  strings.Builder
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// logs maps a test's supervisors to their log writers.
var logs sync.Map // *Supervisor -> *testWriter

// logText returns everything s logged so far.
func logText(s *Supervisor) string {
	w, _ := logs.Load(s)
	tw := w.(*testWriter)
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return tw.all.String()
}

// newSupervisor returns a Supervisor with quick backoff whose log goes to
// t, closed when t ends (before the lab is torn down).
func newSupervisor(t testing.TB, cfg Config) *Supervisor {
	w := &testWriter{t: t}
	cfg.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 200*time.Millisecond, 2*time.Second
	}
	if cfg.RuntimeDir == "" {
		cfg.RuntimeDir = t.TempDir()
	}
	s := New(cfg)
	logs.Store(s, w)
	t.Cleanup(func() {
		logs.Delete(s)
		s.Close()
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return s
}

// waitFor waits until the status satisfies ok, failing t after timeout.
func waitFor(t testing.TB, s *Supervisor, timeout time.Duration, what string, ok func(agentapi.VPNStatus) bool) agentapi.VPNStatus {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ch := s.Changed()
		st := s.Status()
		if ok(st) {
			return st
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("not %s after %v; status %+v", what, timeout, st)
		}
	}
}

func state(want agentapi.VPNState) func(agentapi.VPNStatus) bool {
	return func(st agentapi.VPNStatus) bool { return st.State == want }
}

func connectReq(lab *vpnlab.Lab) agentapi.VPNConnect {
	return agentapi.VPNConnect{Profile: "lab", Config: lab.ClientConfig, Username: lab.Username, Password: lab.Password}
}

// httpVia is an HTTP client whose connections go through dial.
func httpVia(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true},
	}
}

func getBody(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// loopbackServer listens on the test's own 127.0.0.1: reaching it through
// the supervisor while a profile is selected would mean a direct, leaking
// connection.
func loopbackServer(t testing.TB) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "direct\n")
			c.Close()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// hostState is what the supervisor must never change in the agent's
// namespace.
func hostState(t testing.TB) string {
	t.Helper()
	routes, err := vpnlab.HostRoutes()
	if err != nil {
		t.Fatal(err)
	}
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return routes + "--- resolv.conf\n" + string(bytes.TrimSpace(resolv))
}

func skipUnlessOpenVPN(t testing.TB) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if _, err := os.Stat("/usr/sbin/openvpn"); err != nil {
		t.Skip("openvpn not installed at /usr/sbin/openvpn")
	}
}
