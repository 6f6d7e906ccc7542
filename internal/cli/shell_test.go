package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/client"
)

// fakeShell serves the shell route like the daemon: it echoes input as
// output and ends with exit status 3 after a line "exit", or 0 at Ctrl-D.
// Every request and resize is sent on its channels.
type fakeShell struct {
	requests chan *http.Request
	resizes  chan string
}

func startFakeShell(t *testing.T) (*fakeShell, string, string) {
	t.Helper()
	f := &fakeShell{requests: make(chan *http.Request, 10), resizes: make(chan string, 10)}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f, srv.URL, tok
}

func (f *fakeShell) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests <- r
	if r.Header.Get("Authorization") != "Bearer s3cret" {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"status":401,"code":"unauthorized","title":"Unauthorized","detail":"bad token"}`)
		return
	}
	up := websocket.Upgrader{Subprotocols: []string{client.ShellSubprotocol}}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	end := func(code int) {
		conn.WriteMessage(websocket.BinaryMessage, fmt.Appendf([]byte{3}, `{"exitCode":%d}`, code))
		conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	}
	var input []byte
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil || len(msg) == 0 {
			return
		}
		switch msg[0] {
		case 0:
			conn.WriteMessage(websocket.BinaryMessage, append([]byte{1}, msg[1:]...))
			input = append(input, msg[1:]...)
			switch {
			case bytes.HasSuffix(input, []byte("exit\r")), bytes.HasSuffix(input, []byte("exit\n")):
				end(3)
				return
			case bytes.HasSuffix(input, []byte{eot}):
				end(0)
				return
			}
		case 4:
			f.resizes <- string(msg[1:])
		}
	}
}

func TestShellPiped(t *testing.T) {
	f, url, tok := startFakeShell(t)
	r := runCLI(t, "echo hi\nexit\n", "--url", url, "--token-file", tok, "shell", "work", "--", "/bin/sh", "-l")
	check(t, r, 3, "echo hi\nexit\n", "")
	req := recv(t, f.requests)
	if req.URL.Path != "/v1/vms/work/shell" || req.URL.RawQuery != "argv=%2Fbin%2Fsh&argv=-l" {
		t.Errorf("request %s", req.URL)
	}
	// At the end of piped input the shell gets Ctrl-D.
	check(t, runCLI(t, "true\n", "--url", url, "--token-file", tok, "shell"), 0, "true\n\x04", "")
	if req := recv(t, f.requests); req.URL.Path != "/v1/vms/default/shell" || req.URL.RawQuery != "" {
		t.Errorf("request %s", req.URL)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("nope"), 0o600)
	check(t, runCLI(t, "", "--url", url, "--token-file", bad, "shell"), 1, "", "error: bad token (unauthorized)")
}

// TestShellRealDaemon checks the problems of the daemon's shell route.
func TestShellRealDaemon(t *testing.T) {
	d := startDaemon(t)
	check(t, d.cli(t, "", "vm", "create", "work"), 0, "", "")
	check(t, d.cli(t, "", "vm", "start", "work"), 0, "", "")
	// The fake backend runs no agent: the daemon must say so clearly.
	check(t, d.cli(t, "exit\n", "shell", "work"), 1, "", "error: ")
	check(t, d.cli(t, "", "shell", "nosuch"), 1, "", "(not_found)")
}
