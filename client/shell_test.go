package client_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/client"
	"github.com/velocitty/microvm/errdefs"
)

// fakeShell is a shell route that echoes input as output, records resizes
// and ends with exit status 3 when it receives "exit\r".
type fakeShell struct {
	mu      sync.Mutex
	query   string
	auth    string
	resizes []string
}

func (f *fakeShell) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.query, f.auth = r.URL.RawQuery, r.Header.Get("Authorization")
	f.mu.Unlock()
	if r.URL.Path != "/v1/vms/work/shell" {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotImplemented)
		io.WriteString(w, `{"status":501,"code":"not_implemented","title":"Not implemented","detail":"the shell websocket is not available in this server"}`)
		return
	}
	up := websocket.Upgrader{Subprotocols: []string{client.ShellSubprotocol}}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	var line []byte
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil || len(msg) == 0 {
			return
		}
		switch msg[0] {
		case 0:
			conn.WriteMessage(websocket.BinaryMessage, append([]byte{1}, msg[1:]...))
			line = append(line, msg[1:]...)
			if bytes.HasSuffix(line, []byte("exit\r")) {
				conn.WriteMessage(websocket.BinaryMessage, append([]byte{3}, `{"exitCode":3}`...))
				conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
				return
			}
		case 4:
			f.mu.Lock()
			f.resizes = append(f.resizes, string(msg[1:]))
			f.mu.Unlock()
		}
	}
}

func TestShell(t *testing.T) {
	fake := &fakeShell{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c, err := client.New(srv.URL, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	sh, err := c.Shell(t.Context(), "work", client.ShellOptions{Argv: []string{"/bin/sh", "-l"}, Cols: 100, Rows: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if err := sh.Resize(120, 40); err != nil {
		t.Fatal(err)
	}
	if err := sh.Resize(0, 40); err == nil {
		t.Error("Resize(0, 40) succeeded")
	}
	big := strings.Repeat("x", 70<<10) // more than one frame
	if _, err := io.WriteString(sh, "hello "+big+"exit\r"); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(sh)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "hello "+big+"exit\r" {
		t.Errorf("output: %d bytes, want the %d sent", len(out), len("hello "+big+"exit\r"))
	}
	st, err := sh.Status()
	if err != nil || st.ExitCode != 3 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.auth != "Bearer s3cret" {
		t.Errorf("Authorization = %q", fake.auth)
	}
	if fake.query != "argv=%2Fbin%2Fsh&argv=-l&cols=100&rows=30" {
		t.Errorf("query = %q", fake.query)
	}
	var r struct{ Cols, Rows int }
	if len(fake.resizes) != 1 || json.Unmarshal([]byte(fake.resizes[0]), &r) != nil || r.Cols != 120 || r.Rows != 40 {
		t.Errorf("resizes = %q", fake.resizes)
	}
}

func TestShellProblem(t *testing.T) {
	srv := httptest.NewServer(&fakeShell{})
	defer srv.Close()
	c, _ := client.New(srv.URL, "t")
	_, err := c.Shell(t.Context(), "other", client.ShellOptions{})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Code != "not_implemented" || !errors.Is(err, errdefs.ErrNotImplemented) {
		t.Fatalf("err = %#v", err)
	}
}

func TestShellClosedEarly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{Subprotocols: []string{client.ShellSubprotocol}}
		if conn, err := up.Upgrade(w, r, nil); err == nil {
			conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "vm stopped"))
			conn.Close()
		}
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, "t")
	sh, err := c.Shell(t.Context(), "work", client.ShellOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if _, err := io.ReadAll(sh); !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "vm stopped") {
		t.Fatalf("read: %v", err)
	}
	if _, err := sh.Status(); err == nil {
		t.Error("Status succeeded without a status frame")
	}
}

func TestShellDaemonDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ := client.New("http://"+addr, "t")
	if _, err := c.Shell(t.Context(), "work", client.ShellOptions{}); err == nil || !strings.Contains(err.Error(), "is the daemon running?") {
		t.Fatalf("err = %v", err)
	}
}
