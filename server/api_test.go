package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/server"
)

func decode[T any](t testing.TB, resp *http.Response, body []byte, status int) T {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, status, body)
	}
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode: %v: %s", err, body)
	}
	return v
}

// want calls the API and decodes a JSON answer of the given status.
func want[T any](e *env, status int, method, path, body string) T {
	e.t.Helper()
	resp, b := e.call(method, path, body)
	return decode[T](e.t, resp, b, status)
}

func TestHealthNeedsNoToken(t *testing.T) {
	e := newEnv(t)
	req := e.request("GET", "/v1/health", "")
	req.Header.Del("Authorization")
	resp, body := e.do(req)
	if h := decode[api.Health](t, resp, body, 200); h.Status != "ok" {
		t.Fatalf("health = %+v", h)
	}
}

func TestInfo(t *testing.T) {
	e := newEnv(t)
	info := want[api.Info](e, 200, "GET", "/v1/info", "")
	if info.Version != "test" || info.DataDir != "/data" || info.DefaultBackend != "linux" || info.Pid == 0 {
		t.Fatalf("info = %+v", info)
	}
	var wsl *api.BackendInfo
	for i := range info.Backends {
		if info.Backends[i].Name == api.BackendNameWsl {
			wsl = &info.Backends[i]
		}
	}
	if wsl == nil || wsl.Available || wsl.Reason == "" {
		t.Fatalf("wsl backend = %+v, want unavailable with a reason", wsl)
	}
}

func TestVMLifecycle(t *testing.T) {
	e := newEnv(t)
	list := want[api.VMList](e, 200, "GET", "/v1/vms", "")
	if len(list.VMs) != 1 || list.VMs[0].Name != "default" || list.VMs[0].SocksAddress != "127.0.0.1:1080" {
		t.Fatalf("initial list = %+v", list)
	}

	resp, body := e.call("POST", "/v1/vms", `{"name":"work","backend":"auto"}`)
	vm := decode[api.VM](t, resp, body, 201)
	if vm.Name != "work" || vm.Backend != "linux" || vm.State != "created" {
		t.Fatalf("created = %+v", vm)
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/vms/work" {
		t.Fatalf("Location = %q", loc)
	}
	resp, body = e.call("POST", "/v1/vms", `{"name":"work"}`)
	problem(t, resp, body, 409, "already_exists")

	steps := []struct {
		op    string
		state api.VMState
	}{
		{"start", "running"}, {"start", "running"}, {"pause", "paused"}, {"pause", "paused"},
		{"resume", "running"}, {"stop", "stopped"}, {"stop", "stopped"}, {"kill", "stopped"},
	}
	for _, s := range steps {
		vm := want[api.VM](e, 200, "POST", "/v1/vms/work/"+s.op, "")
		if vm.State != s.state {
			t.Fatalf("%s: state = %s, want %s", s.op, vm.State, s.state)
		}
	}
	resp, body = e.call("POST", "/v1/vms/work/pause", "")
	p := problem(t, resp, body, 409, "invalid_state")
	if p.CurrentState != "stopped" {
		t.Fatalf("pause stopped VM: problem = %+v", p)
	}

	resp, _ = e.call("DELETE", "/v1/vms/work", "")
	if resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	resp, body = e.call("GET", "/v1/vms/work", "")
	problem(t, resp, body, 404, "not_found")
}

func TestCreateConflict(t *testing.T) {
	e := newEnv(t)
	resp, body := e.call("POST", "/v1/vms", `{"name":"default"}`)
	problem(t, resp, body, 409, "already_exists")
}

func TestExecAndLogs(t *testing.T) {
	e := newEnv(t)
	resp, body := e.call("POST", "/v1/vms/default/exec", `{"argv":["echo","hi"]}`)
	if p := problem(t, resp, body, 409, "invalid_state"); p.CurrentState != "created" {
		t.Fatalf("exec in a created VM: %+v", p)
	}

	want[api.VM](e, 200, "POST", "/v1/vms/default/start", "")
	res := want[api.ExecResult](e, 200, "POST", "/v1/vms/default/exec", `{"argv":["cat"],"stdin":"hello","timeoutSeconds":5}`)
	if res.Stdout != "hello" || res.ExitCode != 0 {
		t.Fatalf("exec = %+v", res)
	}
	res = want[api.ExecResult](e, 200, "POST", "/v1/vms/default/exec", `{"argv":["nope"]}`)
	if res.ExitCode != 127 || res.Stderr == "" {
		t.Fatalf("exec missing = %+v", res)
	}
	logs := want[api.LogList](e, 200, "GET", "/v1/vms/default/logs?limit=10", "")
	if len(logs.Entries) == 0 || logs.Entries[0].Source == "" {
		t.Fatalf("logs = %+v", logs)
	}
}

func TestStartUnavailableBackend(t *testing.T) {
	e := newEnv(t)
	e.backend.SetUnavailable(fmt.Errorf("no user namespaces here: %w", errdefs.ErrUnavailable))
	resp, body := e.call("POST", "/v1/vms/default/start", "")
	problem(t, resp, body, 503, "backend_unavailable")
}

func TestValidation(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path, body, field string
	}{
		{"bad name", "POST", "/v1/vms", `{"name":"Bad_Name"}`, "name"},
		{"long name", "POST", "/v1/vms", `{"name":"` + strings.Repeat("a", 33) + `"}`, "name"},
		{"missing name", "POST", "/v1/vms", `{"backend":"linux"}`, "name"},
		{"unknown enum", "POST", "/v1/vms", `{"name":"x","backend":"qemu"}`, "backend"},
		{"wrong type", "POST", "/v1/vms", `{"name":7}`, "name"},
		{"unknown member", "POST", "/v1/vms", `{"name":"x","cpus":4}`, "cpus"},
		{"empty argv", "POST", "/v1/vms/default/exec", `{"argv":[]}`, "argv"},
		{"argv item type", "POST", "/v1/vms/default/exec", `{"argv":[1]}`, "argv.0"},
		{"timeout range", "POST", "/v1/vms/default/exec", `{"argv":["x"],"timeoutSeconds":-1}`, "timeoutSeconds"},
		{"path pattern", "GET", "/v1/vms/-bad", "", "name"},
		{"query type", "GET", "/v1/vms/default/logs?limit=abc", "", "limit"},
		{"query range", "GET", "/v1/vms/default/logs?limit=0", "", "limit"},
		{"event id", "GET", "/v1/events", "", "Last-Event-ID"},
		{"not json", "POST", "/v1/vms", `{"name":`, ""},
		{"no body", "POST", "/v1/vms", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := e.request(tt.method, tt.path, tt.body)
			if tt.name == "no body" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.field == "Last-Event-ID" {
				req.Header.Set("Last-Event-ID", "abc")
			}
			resp, body := e.do(req)
			p := problem(t, resp, body, 400, "invalid_request")
			if p.Field != tt.field {
				t.Fatalf("field = %q, want %q (%+v)", p.Field, tt.field, p)
			}
		})
	}
}

func TestRoutingProblems(t *testing.T) {
	e := newEnv(t)
	resp, body := e.call("GET", "/v1/nope", "")
	problem(t, resp, body, 404, "not_found")
	resp, body = e.call("PATCH", "/v1/vms/default", "")
	problem(t, resp, body, 405, "method_not_allowed")
	if allow := resp.Header.Get("Allow"); allow != "GET, DELETE" {
		t.Fatalf("Allow = %q", allow)
	}
}

func TestBodyLimits(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxBodyBytes = 1024 })
	big := `{"argv":["cat"],"stdin":"` + strings.Repeat("x", 2048) + `"}`
	resp, body := e.call("POST", "/v1/vms/default/exec", big)
	problem(t, resp, body, 413, "too_large")

	// Without a Content-Length the cap applies while reading.
	req := e.request("POST", "/v1/vms/default/exec", "")
	req.Body = io.NopCloser(strings.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	resp, body = e.do(req)
	problem(t, resp, body, 413, "too_large")
}

func TestUnsupportedMediaType(t *testing.T) {
	e := newEnv(t)
	req := e.request("POST", "/v1/vms", `{"name":"x"}`)
	req.Header.Set("Content-Type", "text/plain")
	resp, body := e.do(req)
	if p := problem(t, resp, body, 415, "unsupported_media_type"); !strings.Contains(p.Detail, "application/json") {
		t.Fatalf("detail does not name the accepted type: %q", p.Detail)
	}
	req = e.request("POST", "/v1/vms", `{"name":"charset"}`)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if resp, body := e.do(req); resp.StatusCode != 201 {
		t.Fatalf("JSON with charset: %d %s", resp.StatusCode, body)
	}
}

func TestNotImplementedRoutes(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Events = nil; c.Profiles = nil })
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/vms/default/shell", ""},
		{"GET", "/v1/events", ""},
		{"GET", "/v1/vpn/profiles", ""},
	} {
		resp, body := e.call(r.method, r.path, r.body)
		problem(t, resp, body, 501, "not_implemented")
	}
}

func TestServesSpec(t *testing.T) {
	e := newEnv(t)
	req := e.request("GET", "/openapi.yaml", "")
	req.Header.Del("Authorization")
	resp, body := e.do(req)
	if resp.StatusCode != 200 || !bytes.Equal(body, api.Spec()) {
		t.Fatalf("GET /openapi.yaml: %d, %d bytes", resp.StatusCode, len(body))
	}
}
