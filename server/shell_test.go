package server_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/shellproto"
	"github.com/velocitty/microvm/machine"
)

func TestShellEchoAndExitCode(t *testing.T) {
	checkGoroutines(t)
	e := newShellEnv(t, startAgent(t))
	c := e.open(t, "") // the login shell
	marker := rand.Text()[:8]
	// The shell computes 42, so the echo of what we typed cannot match.
	c.send("echo hi-$((40+2))-" + marker + "\r")
	c.expect("hi-42-" + marker)
	c.send("exit 3\r")
	st, ce := c.end()
	if st.ExitCode != 3 || st.Reason != "" {
		t.Errorf("status = %+v, want exit code 3", st)
	}
	if ce.Code != websocket.CloseNormalClosure {
		t.Errorf("close = %v, want 1000", ce)
	}
}

func TestShellSizeAndResize(t *testing.T) {
	checkGoroutines(t)
	e := newShellEnv(t, startAgent(t))
	c := e.open(t, "argv=/bin/sh&cols=100&rows=30")
	c.send("stty size\r")
	c.expect("30 100")
	c.resize(123, 45)
	c.send("stty size\r")
	c.expect("45 123")
	c.send("exit\r")
	if st, _ := c.end(); st.ExitCode != 0 {
		t.Errorf("status = %+v", st)
	}
}

// TestShellArgv runs a program with arguments, none of them through a
// shell on the daemon's side.
func TestShellArgv(t *testing.T) {
	checkGoroutines(t)
	e := newShellEnv(t, startAgent(t))
	c := e.open(t, "argv=/bin/sh&argv=-c&argv=echo+argv+ok%3B+exit+7")
	c.expect("argv ok")
	if st, ce := c.end(); st.ExitCode != 7 || ce.Code != websocket.CloseNormalClosure {
		t.Errorf("status = %+v, close %v", st, ce)
	}
}

func TestShellRefusals(t *testing.T) {
	checkGoroutines(t)
	e := newShellEnv(t, startAgent(t))
	if _, err := e.mgr.Create(t.Context(), machine.CreateOptions{Name: "idle"}); err != nil {
		t.Fatal(err)
	}
	auth := "Bearer " + testToken
	port := strings.TrimPrefix(e.url, "http://127.0.0.1:")
	for _, tc := range []struct {
		name, path string
		hdr        http.Header
		status     int
		code       string
	}{
		{"no token", "default/shell", http.Header{}, 401, "unauthorized"},
		{"wrong token", "default/shell", http.Header{"Authorization": {"Bearer nope"}}, 401, "unauthorized"},
		{"foreign origin", "default/shell", http.Header{"Authorization": {auth}, "Origin": {"http://evil.example"}}, 403, "forbidden_origin"},
		{"other port", "default/shell", http.Header{"Authorization": {auth}, "Origin": {"http://127.0.0.1:1"}}, 403, "forbidden_origin"},
		{"https origin", "default/shell", http.Header{"Authorization": {auth}, "Origin": {"https://127.0.0.1:" + port}}, 403, "forbidden_origin"},
		{"no subprotocol", "default/shell", http.Header{"Authorization": {auth}, "Sec-Websocket-Protocol": {"other"}}, 400, "invalid_request"},
		{"cols 0", "default/shell?cols=0", nil, 400, "invalid_request"},
		{"rows 1001", "default/shell?rows=1001", nil, 400, "invalid_request"},
		{"cols text", "default/shell?cols=wide", nil, 400, "invalid_request"},
		{"empty program", "default/shell?argv=", nil, 400, "invalid_request"},
		{"bad name", "Bad_Name/shell", nil, 400, "invalid_request"},
		{"unknown VM", "ghost/shell", nil, 404, "not_found"},
		{"stopped VM", "idle/shell", nil, 409, "invalid_state"},
		{"missing program", "default/shell?argv=/no/such/program", nil, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, resp, err := e.dial(t, "/v1/vms/"+tc.path, tc.hdr)
			if err == nil {
				ws.Close()
				t.Fatal("upgraded")
			}
			if resp == nil {
				t.Fatalf("no answer: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			var p api.Problem
			if resp.StatusCode != tc.status || json.Unmarshal(body, &p) != nil || p.Code != tc.code ||
				resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("answer %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			if tc.code == "invalid_state" && p.CurrentState != "created" {
				t.Errorf("currentState = %q", p.CurrentState)
			}
		})
	}
	// A plain GET is not an upgrade.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.url+"/v1/vms/default/shell", nil)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("plain GET: %d, want 400", resp.StatusCode)
	}
	// Our own origin is welcome, by either name.
	for _, origin := range []string{"http://127.0.0.1:" + port, "http://localhost:" + port} {
		hdr := http.Header{"Authorization": {auth}, "Origin": {origin}}
		ws, _, err := e.dial(t, "/v1/vms/default/shell?argv=true", hdr)
		if err != nil {
			t.Fatalf("origin %s: %v", origin, err)
		}
		c := &shellClient{t: t, ws: ws}
		if st, _ := c.end(); st.ExitCode != 0 {
			t.Errorf("status = %+v", st)
		}
	}
}

func TestShellProtocolViolations(t *testing.T) {
	checkGoroutines(t)
	e := newShellEnv(t, startAgent(t))
	for _, tc := range []struct {
		name  string
		typ   int
		frame []byte
		code  int
	}{
		{"output channel", websocket.BinaryMessage, shellproto.Encode(agentapi.ChannelOutput, []byte("x")), websocket.ClosePolicyViolation},
		{"status channel", websocket.BinaryMessage, shellproto.EncodeStatus(agentapi.ShellStatus{}), websocket.ClosePolicyViolation},
		{"unknown channel", websocket.BinaryMessage, []byte{9, 'x'}, websocket.ClosePolicyViolation},
		{"empty frame", websocket.BinaryMessage, nil, websocket.ClosePolicyViolation},
		{"bad resize", websocket.BinaryMessage, shellproto.Encode(agentapi.ChannelResize, []byte(`{"cols":0}`)), websocket.ClosePolicyViolation},
		{"text frame", websocket.TextMessage, []byte("ls"), websocket.CloseUnsupportedData},
		{"frame too large", websocket.BinaryMessage, make([]byte, shellproto.MaxFrameSize+1), websocket.CloseMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.open(t, "argv=cat")
			if err := c.ws.WriteMessage(tc.typ, tc.frame); err != nil {
				t.Fatal(err)
			}
			_, err := c.next()
			ce, ok := err.(*websocket.CloseError)
			// The websocket library refuses a message over the read
			// limit itself, with an empty reason.
			if !ok || ce.Code != tc.code || (ce.Text == "" && tc.code != websocket.CloseMessageTooBig) {
				t.Fatalf("got %v, want close %d with a reason", err, tc.code)
			}
		})
	}
}

func TestShellManyAtOnce(t *testing.T) {
	checkGoroutines(t)
	e := newShellEnv(t, startAgent(t))
	// Parallel subtests run together once the group's function returns.
	t.Run("group", func(t *testing.T) {
		for i := range 10 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				c := e.open(t, "argv=/bin/sh")
				c.send(fmt.Sprintf("echo shell-$((%d*1000+7))\r", i))
				c.expect(fmt.Sprintf("shell-%d\r\n", i*1000+7))
				c.send(fmt.Sprintf("exit %d\r", i))
				if st, _ := c.end(); st.ExitCode != i {
					t.Errorf("status %+v, want exit code %d", st, i)
				}
			})
		}
	})
}

// TestShellBrowserSession opens a shell as the console does: with the
// session cookie from a login link and the daemon's own Origin.
func TestShellBrowserSession(t *testing.T) {
	checkGoroutines(t)
	e := newShellEnv(t, startAgent(t))
	req, _ := http.NewRequestWithContext(t.Context(), "POST", e.url+"/v1/console/login", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ URL string }
	err = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login link: %d %v", resp.StatusCode, err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ = http.NewRequestWithContext(t.Context(), "GET", login.URL, nil)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "microvm-session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("login: %d without a session cookie", resp.StatusCode)
	}
	origin := e.url // http://127.0.0.1:PORT
	for _, tc := range []struct {
		name   string
		hdr    http.Header
		status int
	}{
		{"no origin", http.Header{"Cookie": {cookie}}, 403},
		{"foreign origin", http.Header{"Cookie": {cookie}, "Origin": {"http://evil.example"}}, 403},
		{"own origin", http.Header{"Cookie": {cookie}, "Origin": {origin}}, 101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, resp, err := e.dial(t, "/v1/vms/default/shell?argv=true", tc.hdr)
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("answer %v (%v), want %d", resp, err, tc.status)
			}
			if tc.status == 101 {
				c := &shellClient{t: t, ws: ws}
				if st, _ := c.end(); st.ExitCode != 0 {
					t.Errorf("status = %+v", st)
				}
			}
		})
	}
}

// TestShellFullFrame sends the largest stdin frame the protocol allows.
func TestShellFullFrame(t *testing.T) {
	checkGoroutines(t)
	e := newShellEnv(t, startAgent(t))
	script := fmt.Sprintf("stty raw -echo; echo ready; head -c %d | wc -c", shellproto.MaxPayload)
	c := e.open(t, "argv=/bin/sh&argv=-c&argv="+url.QueryEscape(script))
	c.expect("ready")
	c.send(strings.Repeat("a", shellproto.MaxPayload))
	c.expect(fmt.Sprint(shellproto.MaxPayload))
	if st, _ := c.end(); st.ExitCode != 0 {
		t.Errorf("status = %+v", st)
	}
}
