package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/server"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	for name, header := range map[string]string{
		"no token":      "",
		"wrong token":   "Bearer " + testToken[:63] + "0",
		"short token":   "Bearer abc",
		"basic scheme":  "Basic " + testToken,
		"token no type": testToken,
	} {
		t.Run(name, func(t *testing.T) {
			req := e.request("GET", "/v1/vms", "")
			req.Header.Set("Authorization", header)
			resp, body := e.do(req)
			problem(t, resp, body, 401, "unauthorized")
			if got := resp.Header.Get("WWW-Authenticate"); got != "Bearer" {
				t.Fatalf("WWW-Authenticate = %q", got)
			}
		})
	}
	// Unknown routes do not reveal themselves without a token.
	req := e.request("GET", "/v1/nope", "")
	req.Header.Del("Authorization")
	resp, body := e.do(req)
	problem(t, resp, body, 401, "unauthorized")

	req = e.request("GET", "/v1/vms", "")
	req.Header.Set("Authorization", "bearer "+testToken) // scheme is case-insensitive
	if resp, body := e.do(req); resp.StatusCode != 200 {
		t.Fatalf("lower-case scheme: %d %s", resp.StatusCode, body)
	}
}

func TestHostAllowlist(t *testing.T) {
	e := newEnv(t)
	for _, host := range []string{
		"evil.example",
		fmt.Sprintf("evil.example:%d", e.port),
		"127.0.0.1",
		fmt.Sprintf("127.0.0.1:%d", e.port+1),
		fmt.Sprintf("10.0.0.1:%d", e.port),
	} {
		req := e.request("GET", "/v1/health", "")
		req.Host = host
		resp, body := e.do(req)
		problem(t, resp, body, 421, "misdirected_request")
	}
	for _, host := range []string{"localhost", "127.0.0.1", "[::1]", "LOCALHOST"} {
		req := e.request("GET", "/v1/vms", "")
		req.Host = fmt.Sprintf("%s:%d", host, e.port)
		if resp, body := e.do(req); resp.StatusCode != 200 {
			t.Fatalf("Host %s: %d %s", req.Host, resp.StatusCode, body)
		}
	}
}

func TestListenHostAccepted(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.ListenHost = "127.0.0.2" })
	req := e.request("GET", "/v1/vms", "")
	req.Host = fmt.Sprintf("127.0.0.2:%d", e.port)
	if resp, body := e.do(req); resp.StatusCode != 200 {
		t.Fatalf("Host %s: %d %s", req.Host, resp.StatusCode, body)
	}
	req.Host = fmt.Sprintf("127.0.0.3:%d", e.port)
	resp, body := e.do(req)
	problem(t, resp, body, 421, "misdirected_request")
}

func TestBrowserOrigin(t *testing.T) {
	e := newEnv(t)
	refused := []map[string]string{
		{"Origin": "https://evil.example"},
		{"Origin": "null"},
		{"Origin": fmt.Sprintf("http://localhost:%d", e.port+1)},
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Sec-Fetch-Site": "cross-site", "Origin": fmt.Sprintf("http://127.0.0.1:%d", e.port)},
	}
	for _, hdr := range refused {
		for _, method := range []string{"GET", "POST"} {
			req := e.request(method, "/v1/vms/default/stop", "")
			if method == "GET" {
				req = e.request(method, "/v1/vms", "")
			}
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, body := e.do(req)
			problem(t, resp, body, 403, "forbidden_origin")
		}
	}
	allowed := []map[string]string{
		{"Origin": fmt.Sprintf("http://127.0.0.1:%d", e.port)},
		{"Origin": fmt.Sprintf("http://localhost:%d", e.port), "Sec-Fetch-Site": "same-origin"},
		{"Sec-Fetch-Site": "none"},
	}
	for _, hdr := range allowed {
		req := e.request("GET", "/v1/vms", "")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		if resp, body := e.do(req); resp.StatusCode != 200 {
			t.Fatalf("%v: %d %s", hdr, resp.StatusCode, body)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/v1/vms", "/v1/nope"} {
		resp, _ := e.call("GET", path, "")
		for k, v := range map[string]string{
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           "no-store",
		} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
}

// panicky makes Get panic, to test recovery.
type panicky struct{ server.Machines }

func (panicky) Get(context.Context, string) (machine.VM, error) { panic("boom") }

func TestPanicBecomesProblem(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Machines = panicky{c.Machines} })
	resp, body := e.call("GET", "/v1/vms/default", "")
	p := problem(t, resp, body, 500, "internal")
	if p.Detail == "" || strings.Contains(string(body), "boom") {
		t.Fatalf("panic leaked or no detail: %s", body)
	}
	// The server keeps serving.
	if resp, _ := e.call("GET", "/v1/vms", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("after panic: %d", resp.StatusCode)
	}
}

// failing makes Stop return an unclassified error.
type failing struct{ server.Machines }

func (failing) Stop(context.Context, string) (machine.VM, error) {
	return machine.VM{}, fmt.Errorf("disk on fire: secret detail")
}

func TestUnexpectedErrorIsGeneric(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Machines = failing{c.Machines} })
	resp, body := e.call("POST", "/v1/vms/default/stop", "")
	problem(t, resp, body, 500, "internal")
	if strings.Contains(string(body), "secret") {
		t.Fatalf("internal error text leaked: %s", body)
	}
}
