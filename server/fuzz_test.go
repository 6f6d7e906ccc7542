package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/machine/machinetest"
	"github.com/velocitty/microvm/server"
	"github.com/velocitty/microvm/vpn"
)

const fuzzPort = 7070

// fuzzHandler is the whole API handler over a fake backend, called
// without a network.
func fuzzHandler(f *testing.F) http.Handler {
	f.Helper()
	log := slog.New(slog.DiscardHandler)
	be := machinetest.NewBackend()
	mgr, err := machine.New(f.Context(), machine.Config{
		DataDir: f.TempDir(), Logger: log, DefaultBackend: "linux",
		Backends: map[string]machine.Backend{"linux": be}, Agents: be.Agents,
	})
	if err != nil {
		f.Fatal(err)
	}
	store, err := vpn.NewStore(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	h, err := server.New(server.Config{
		Logger: log, Machines: mgr, Events: mgr.Events(), Profiles: store,
		Token: testToken, Port: fuzzPort, MaxBodyBytes: 64 << 10,
	})
	if err != nil {
		f.Fatal(err)
	}
	return h
}

// checkAnswer fails on a 5xx and on any error that is not a problem.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
		}
		var p api.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code || p.Code == "" {
			t.Fatalf("bad problem %v: %s", err, rec.Body)
		}
	}
}

func serve(h http.Handler, method, target, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Host = "127.0.0.1:7070"
	req.Header.Set("Authorization", "Bearer "+testToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func FuzzCreateVM(f *testing.F) {
	h := fuzzHandler(f)
	for _, s := range []string{
		`{"name":"work"}`, `{"name":"work","backend":"wsl"}`, `{"name":"Work"}`, `{"name":""}`,
		`{"name":"a","x":1}`, `{"name":null}`, `[]`, `null`, `{"name":"a","backend":7}`, `{`, "",
		`{"name":"` + strings.Repeat("a", 40) + `"}`, `{"name":"a\u0000"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := serve(h, "POST", "/v1/vms", "application/json", body)
		checkAnswer(t, rec)
		if rec.Code == http.StatusCreated {
			var vm api.VM
			if err := json.Unmarshal(rec.Body.Bytes(), &vm); err != nil || !vm.State.Valid() {
				t.Fatalf("created VM %v: %s", err, rec.Body)
			}
			serve(h, "DELETE", "/v1/vms/"+vm.Name, "", "")
		}
	})
}

func FuzzRequest(f *testing.F) {
	h := fuzzHandler(f)
	f.Add("POST", "/v1/vms/default/exec", "application/json", `{"argv":["echo","x"],"timeoutSeconds":1}`)
	f.Add("PUT", "/v1/vpn/profiles/work", "application/x-openvpn-profile", "client\nremote a 1\n")
	f.Add("PUT", "/v1/vpn/profiles/work", "application/json", `{"config":"client\n","username":"u"}`)
	f.Add("GET", "/v1/vms/default/logs?limit=5", "", "")
	f.Add("GET", "/v1/vms/%2e%2e/logs", "", "")
	f.Add("DELETE", "/v1/vms/default", "", "")
	f.Fuzz(func(t *testing.T, method, target, contentType, body string) {
		switch method {
		case "GET", "POST", "PUT", "DELETE", "PATCH":
		default:
			t.Skip()
		}
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") ||
			strings.HasSuffix(target, "/events") || strings.Contains(target, "/events?") {
			t.Skip() // not a request line; the event stream never ends
		}
		defer func() {
			if r := recover(); r != nil { // httptest.NewRequest panics on unparsable targets
				if _, ok := r.(string); !ok {
					panic(r)
				}
				t.Skip()
			}
		}()
		rec := serve(h, method, target, contentType, body)
		checkAnswer(t, rec)
	})
}
