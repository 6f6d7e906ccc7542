package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/machine/machinetest"
	"github.com/velocitty/microvm/server"
	"github.com/velocitty/microvm/server/servertest"
	"github.com/velocitty/microvm/vpn"
)

const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// env is a daemon's API served in-process on a loopback port, over the
// real VM manager and a fake backend.
type env struct {
	t       testing.TB
	url     string
	port    int
	backend *machinetest.Backend
	mgr     *machine.Manager
	http    *http.Client // validates every response against the spec
	close   func()       // stops the server and waits for its handlers
	handler http.Handler // the API handler itself
	host    string       // a Host header the handler accepts
}

type envOption func(*server.Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	be := machinetest.NewBackend()
	store, err := vpn.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := machine.New(ctx, machine.Config{
		DataDir:        t.TempDir(),
		Logger:         log,
		Backends:       map[string]machine.Backend{"linux": be},
		Unavailable:    map[string]string{"wsl": "WSL2 runs on Windows only"},
		DefaultBackend: "linux",
		Agents:         be.Agents,
		Profiles:       store,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	cfg := server.Config{
		Logger:    log,
		Machines:  mgr,
		Events:    mgr.Events(),
		Profiles:  store,
		Token:     testToken,
		Port:      port,
		Version:   "test",
		DataDir:   "/data",
		StartedAt: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		Heartbeat: 50 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(ts.Close)
	return &env{
		t: t, url: ts.URL, port: port, backend: be, mgr: mgr, close: ts.Close,
		handler: h, host: ts.Listener.Addr().String(),
		http: &http.Client{Transport: servertest.Contract(t, ts.Client().Transport)},
	}
}

// request builds an authorized request to path.
func (e *env) request(method, path, body string) *http.Request {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// do sends req and returns the status and body.
func (e *env) do(req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// call is do(request(...)).
func (e *env) call(method, path, body string) (*http.Response, []byte) {
	e.t.Helper()
	return e.do(e.request(method, path, body))
}

// problem decodes a problem document and checks its media type and status.
func problem(t *testing.T, resp *http.Response, body []byte, status int, code string) api.Problem {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p api.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode problem: %v: %s", err, body)
	}
	if p.Code != code || p.Status != status || p.Title == "" || p.Type != "urn:microvm:problem:"+code {
		t.Fatalf("problem = %+v, want code %s status %d", p, code, status)
	}
	return p
}

func nopBody(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
