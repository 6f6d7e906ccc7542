package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/web"
)

// login mints a login link with the bearer token and checks it.
func (e *env) login(t *testing.T) *url.URL {
	t.Helper()
	resp, body := e.call("POST", "/v1/console/login", "")
	if resp.StatusCode != 200 {
		t.Fatalf("POST /v1/console/login: %d %s", resp.StatusCode, body)
	}
	var l api.ConsoleLogin
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(l.URL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Host != e.host || u.Path != "/console/login" || len(u.Query().Get("code")) < 40 {
		t.Fatalf("login URL %q", l.URL)
	}
	if left := time.Until(l.ExpiresAt); left <= 50*time.Second || left > 60*time.Second {
		t.Fatalf("link expires in %v, want about a minute", left)
	}
	return u
}

// browserRequest builds a request as a browser sends it: no token, and
// the session cookie if there is one.
func (e *env) browserRequest(method, path string, cookie *http.Cookie) *http.Request {
	req := e.request(method, path, "")
	req.Header.Del("Authorization")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return req
}

// redeem follows a login link without following the redirect.
func (e *env) redeem(t *testing.T, link *url.URL) (*http.Response, []byte) {
	t.Helper()
	req := e.browserRequest("GET", link.RequestURI(), nil)
	client := *e.http
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// sessionCookie logs in and returns the cookie the daemon sets.
func (e *env) sessionCookie(t *testing.T) *http.Cookie {
	t.Helper()
	resp, body := e.redeem(t, e.login(t))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console" {
		t.Fatalf("login link: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	return cookies[0]
}

func TestConsoleLogin(t *testing.T) {
	e := newEnv(t)
	link := e.login(t)
	resp, body := e.redeem(t, link)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console" {
		t.Fatalf("login link: %d %s", resp.StatusCode, body)
	}
	raw := resp.Header.Values("Set-Cookie")
	if len(raw) != 1 {
		t.Fatalf("Set-Cookie %q", raw)
	}
	attrs := strings.Split(raw[0], "; ")
	for _, want := range []string{"Path=/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains("; "+raw[0]+"; ", "; "+want+"; ") {
			t.Errorf("cookie %q lacks %s", raw[0], want)
		}
	}
	name, value, _ := strings.Cut(attrs[0], "=")
	if name != "microvm-session" || len(value) < 43 || strings.Contains(raw[0], link.Query().Get("code")) {
		t.Errorf("cookie %q: want microvm-session with a fresh 32-byte id", raw[0])
	}
	for _, a := range attrs[1:] {
		if k, _, _ := strings.Cut(a, "="); k == "Secure" || k == "Max-Age" || k == "Expires" || k == "Domain" {
			t.Errorf("cookie %q has %s", raw[0], k)
		}
	}
	cookie := resp.Cookies()[0]

	// The code works once.
	resp, body = e.redeem(t, link)
	problem(t, resp, body, 403, "login_expired")
	// A made-up code does not work at all.
	made := *link
	made.RawQuery = "code=" + strings.Repeat("A", 43)
	resp, body = e.redeem(t, &made)
	problem(t, resp, body, 403, "login_expired")

	// The cookie opens the console and lists the VMs.
	resp, body = e.do(e.browserRequest("GET", "/console", cookie))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `src="/assets/console.js"`) {
		t.Fatalf("console with a session: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(e.browserRequest("GET", "/v1/vms", cookie))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"default"`) {
		t.Fatalf("GET /v1/vms with the cookie: %d %s", resp.StatusCode, body)
	}
	// Two logins are two sessions.
	if other := e.sessionCookie(t); other.Value == cookie.Value {
		t.Fatal("two logins share a session id")
	}
}

func TestConsoleLogout(t *testing.T) {
	e := newEnv(t)
	cookie := e.sessionCookie(t)
	other := e.sessionCookie(t)
	ours := fmt.Sprintf("http://127.0.0.1:%d", e.port)

	// Like any change, logging out needs our Origin.
	resp, body := e.do(e.browserRequest("POST", "/v1/console/logout", cookie))
	problem(t, resp, body, 403, "forbidden_origin")

	req := e.browserRequest("POST", "/v1/console/logout", cookie)
	req.Header.Set("Origin", ours)
	resp, body = e.do(req)
	if resp.StatusCode != 204 {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	if c := resp.Cookies(); len(c) != 1 || c[0].Name != "microvm-session" || c[0].Value != "" || c[0].MaxAge >= 0 {
		t.Fatalf("logout cookies %v, want the session cookie deleted", c)
	}
	resp, body = e.do(e.browserRequest("GET", "/v1/vms", cookie))
	problem(t, resp, body, 401, "unauthorized")
	// Only that session ended.
	if resp, body := e.do(e.browserRequest("GET", "/v1/vms", other)); resp.StatusCode != 200 {
		t.Fatalf("the other session: %d %s", resp.StatusCode, body)
	}
	// The token has no session to end.
	if resp, body := e.call("POST", "/v1/console/logout", ""); resp.StatusCode != 204 {
		t.Fatalf("logout with the token: %d %s", resp.StatusCode, body)
	}
}

func TestConsoleWithoutSession(t *testing.T) {
	e := newEnv(t)
	for _, c := range []*http.Cookie{nil, {Name: "microvm-session", Value: strings.Repeat("x", 43)}} {
		resp, body := e.do(e.browserRequest("GET", "/console", c))
		if resp.StatusCode != 200 || !strings.Contains(string(body), "microvm-api console") ||
			strings.Contains(string(body), "console.js") {
			t.Fatalf("console without a session (%v): %d %s", c, resp.StatusCode, body)
		}
		resp, body = e.do(e.browserRequest("GET", "/v1/vms", c))
		problem(t, resp, body, 401, "unauthorized")
	}
	// Without the token, no login links.
	resp, body := e.do(e.browserRequest("POST", "/v1/console/login", nil))
	problem(t, resp, body, 401, "unauthorized")
}

// TestSessionScope checks what a session cookie grants: the console's
// operations only, and changes only with the daemon's own Origin.
func TestSessionScope(t *testing.T) {
	e := newEnv(t)
	cookie := e.sessionCookie(t)
	ours := fmt.Sprintf("http://127.0.0.1:%d", e.port)
	withOrigin := func(req *http.Request, origin string) *http.Request {
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		return req
	}

	// Beyond the console's operations, a session is no login.
	for _, r := range [][2]string{
		{"GET", "/v1/info"},
		{"POST", "/v1/vms/default/stop"},
		{"DELETE", "/v1/vms/default"},
		{"POST", "/v1/console/login"},
		{"GET", "/v1/vpn/profiles"},
	} {
		resp, body := e.do(withOrigin(e.browserRequest(r[0], r[1], cookie), ours))
		problem(t, resp, body, 401, "unauthorized")
	}

	// A state change needs our Origin: a missing one is refused, and so
	// is a foreign one, a same-site one (another port) in particular.
	for _, origin := range []string{"", "http://evil.example", fmt.Sprintf("http://127.0.0.1:%d", e.port+1), "null"} {
		resp, body := e.do(withOrigin(e.browserRequest("POST", "/v1/vms/default/start", cookie), origin))
		problem(t, resp, body, 403, "forbidden_origin")
	}
	if vm, _ := e.mgr.Get(t.Context(), "default"); vm.State != "created" {
		t.Fatalf("a refused start started the VM: %s", vm.State)
	}
	resp, body := e.do(withOrigin(e.browserRequest("POST", "/v1/vms/default/start", cookie), ours))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"state":"running"`) {
		t.Fatalf("start with the cookie and our Origin: %d %s", resp.StatusCode, body)
	}

	// So does a websocket upgrade, which browsers send as a GET.
	req := e.browserRequest("GET", "/v1/vms/default/shell", cookie)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	resp, body = e.do(req)
	problem(t, resp, body, 403, "forbidden_origin")

	// Reading needs no Origin: top-level navigations send none.
	resp, body = e.do(e.browserRequest("GET", "/v1/vms/default", cookie))
	if resp.StatusCode != 200 {
		t.Fatalf("GET a VM with the cookie: %d %s", resp.StatusCode, body)
	}
	// But a read from another site is refused all the same.
	req = e.browserRequest("GET", "/v1/vms", cookie)
	req.Header.Set("Sec-Fetch-Site", "same-site")
	resp, body = e.do(req)
	problem(t, resp, body, 403, "forbidden_origin")
}

// inlineScript finds script elements with a body and event handler
// attributes, which the pages' CSP would block.
var inlineScript = regexp.MustCompile(`<script[^>]*>[^<]|\son[a-z]+=`)

func TestPagesHeaders(t *testing.T) {
	e := newEnv(t)
	cookie := e.sessionCookie(t)
	for _, path := range []string{"/docs", "/console"} {
		for _, c := range []*http.Cookie{nil, cookie} {
			resp, body := e.do(e.browserRequest("GET", path, c))
			if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "<!doctype html>") {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
			}
			for k, v := range map[string]string{
				"Content-Type":           "text/html; charset=utf-8",
				"X-Frame-Options":        "DENY",
				"X-Content-Type-Options": "nosniff",
			} {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %s = %q, want %q", path, k, got, v)
				}
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s: CSP %q lacks %s", path, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-eval") {
				t.Errorf("%s: CSP %q lets scripts run from strings", path, csp)
			}
			// Only the terminal needs inline styles.
			if inline := strings.Contains(csp, "'unsafe-inline'"); inline != (path == "/console" && c != nil) {
				t.Errorf("%s (logged in: %v): CSP %q", path, c != nil, csp)
			}
			if inlineScript.Match(body) {
				t.Errorf("%s has inline script", path)
			}
		}
	}
	// The API keeps its own, stricter policy.
	resp, _ := e.call("GET", "/v1/vms", "")
	if got := resp.Header.Get("Content-Security-Policy"); got != "default-src 'none'; frame-ancestors 'none'" {
		t.Errorf("API CSP %q", got)
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t)
	for file, ctype := range map[string]string{
		"console.js":           "text/javascript; charset=utf-8",
		"xterm.js":             "text/javascript; charset=utf-8",
		"addon-fit.js":         "text/javascript; charset=utf-8",
		"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
		"xterm.css":            "text/css; charset=utf-8",
		"xterm.LICENSE.txt":    "text/plain; charset=utf-8",
	} {
		resp, body := e.do(e.browserRequest("GET", "/assets/"+file, nil))
		want, _ := web.Asset(file)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ctype || string(body) != string(want) {
			t.Errorf("/assets/%s: %d %s, %d bytes", file, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	resp, body := e.do(e.browserRequest("GET", "/assets/nope.js", nil))
	problem(t, resp, body, 404, "not_found")
	resp, body = e.do(e.browserRequest("GET", "/assets/.hidden", nil))
	problem(t, resp, body, 400, "invalid_request")
	// Nothing outside the assets: pages and Go files are not files here.
	for _, p := range []string{"/assets/..%2fweb.go", "/assets/web.go", "/assets/console.html"} {
		resp, body := e.do(e.browserRequest("GET", p, nil))
		if resp.StatusCode < 400 {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
}

// TestNoSecretsInPages reads every page and asset a browser can load and
// looks for the token, a session id and a login code.
func TestNoSecretsInPages(t *testing.T) {
	e := newEnv(t)
	cookie := e.sessionCookie(t)
	code := e.login(t).Query().Get("code")
	paths := []string{"/docs", "/console"}
	for _, name := range web.AssetNames() {
		paths = append(paths, "/assets/"+name)
	}
	for _, p := range paths {
		resp, body := e.do(e.browserRequest("GET", p, cookie))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		for what, secret := range map[string]string{"token": testToken, "session id": cookie.Value, "login code": code} {
			if strings.Contains(string(body), secret) {
				t.Errorf("%s contains the %s", p, what)
			}
		}
	}
}
