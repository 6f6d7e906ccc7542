package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/shellproto"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/machine/machinetest"
	"github.com/velocitty/microvm/server"
)

// agentAt answers for the manager's VMs (not found, not running) and
// points every running one at the real agent a.
type agentAt struct {
	mgr *machine.Manager
	a   *testAgent
}

func (x agentAt) AgentEndpoint(ctx context.Context, name string) (string, string, error) {
	if _, _, err := x.mgr.AgentEndpoint(ctx, name); err != nil {
		return "", "", err
	}
	return x.a.addr, x.a.token, nil
}

// shellEnv serves the API over the real manager, a fake backend whose VM
// "default" is running, and a real agent.
type shellEnv struct {
	url      string // http://127.0.0.1:PORT
	mgr      *machine.Manager
	sessions *server.ShellSessions
	shutdown context.CancelFunc // what the daemon does when it stops: cancel requests
}

func newShellEnv(t testing.TB, a *testAgent) *shellEnv {
	t.Helper()
	// Debug level: the request logger wraps the ResponseWriter, which
	// must still let the upgrade take the connection over.
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	be := machinetest.NewBackend()
	mgr, err := machine.New(t.Context(), machine.Config{
		DataDir:        t.TempDir(),
		Logger:         log,
		Backends:       map[string]machine.Backend{"linux": be},
		DefaultBackend: "linux",
		Agents:         be.Agents,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mgr.Start(t.Context(), "default"); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	sessions := server.NewShellSessions(agentAt{mgr, a})
	h, err := server.New(server.Config{
		Logger: log, Machines: mgr, Events: mgr.Events(), Shells: sessions,
		Token: testToken, Port: port, Version: "test", DataDir: "/data",
	})
	if err != nil {
		t.Fatal(err)
	}
	reqCtx, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: h, BaseContext: func(net.Listener) context.Context { return reqCtx }}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		cancel()
		srv.Close()
		sessions.Wait()
		<-served
	})
	return &shellEnv{url: "http://" + ln.Addr().String(), mgr: mgr, sessions: sessions, shutdown: cancel}
}

// dial opens path's websocket with the token and our subprotocol unless
// hdr says otherwise.
func (e *shellEnv) dial(t testing.TB, path string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	if hdr == nil {
		hdr = http.Header{"Authorization": {"Bearer " + testToken}}
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Subprotocols: []string{agentapi.ShellSubprotocol}}
	if _, ok := hdr["Sec-Websocket-Protocol"]; ok {
		d.Subprotocols = nil
	}
	ws, resp, err := d.DialContext(t.Context(), "ws"+strings.TrimPrefix(e.url, "http")+path, hdr)
	if ws != nil {
		t.Cleanup(func() { ws.Close() })
	}
	return ws, resp, err
}

// open opens a shell; query is the URL's query, e.g. "argv=cat".
func (e *shellEnv) open(t testing.TB, query string) *shellClient {
	t.Helper()
	path := "/v1/vms/default/shell"
	if query != "" {
		path += "?" + query
	}
	ws, resp, err := e.dial(t, path, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("open shell: %v (status %d)", err, status)
	}
	if ws.Subprotocol() != agentapi.ShellSubprotocol {
		t.Fatalf("subprotocol = %q", ws.Subprotocol())
	}
	return &shellClient{t: t, ws: ws}
}

// shellClient drives one shell websocket.
type shellClient struct {
	t   testing.TB
	ws  *websocket.Conn
	out bytes.Buffer // all output so far
}

func (c *shellClient) write(frame []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *shellClient) send(s string) { c.write(shellproto.Encode(agentapi.ChannelStdin, []byte(s))) }

func (c *shellClient) resize(cols, rows uint16) { c.write(shellproto.EncodeResize(cols, rows)) }

// next returns the next frame, failing t after 10s.
func (c *shellClient) next() (shellproto.Frame, error) {
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, msg, err := c.ws.ReadMessage()
	if err != nil {
		return shellproto.Frame{}, err
	}
	if typ != websocket.BinaryMessage {
		c.t.Fatalf("message type %d, want binary", typ)
	}
	f, err := shellproto.Decode(msg)
	if err != nil {
		c.t.Fatalf("decode frame: %v", err)
	}
	return f, nil
}

// expect reads output until it contains want.
func (c *shellClient) expect(want string) {
	c.t.Helper()
	for !strings.Contains(c.out.String(), want) {
		f, err := c.next()
		if err != nil {
			c.t.Fatalf("waiting for %q: %v; output so far %q", want, err, c.out.String())
		}
		switch f.Channel {
		case agentapi.ChannelOutput:
			c.out.Write(f.Data)
		default:
			c.t.Fatalf("waiting for %q: frame on channel %d: %s", want, f.Channel, f.Data)
		}
	}
}

// end reads until the status frame and the close that follows it.
func (c *shellClient) end() (agentapi.ShellStatus, *websocket.CloseError) {
	c.t.Helper()
	var st *agentapi.ShellStatus
	for {
		f, err := c.next()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if st == nil {
				c.t.Fatalf("closed (%v) without a status frame", ce)
			}
			return *st, ce
		}
		if err != nil {
			c.t.Fatalf("waiting for the status: %v", err)
		}
		switch {
		case f.Channel == agentapi.ChannelOutput && st == nil:
			c.out.Write(f.Data)
		case f.Channel == agentapi.ChannelStatus && st == nil:
			s, err := f.Status()
			if err != nil {
				c.t.Fatal(err)
			}
			st = &s
		default:
			c.t.Fatalf("frame on channel %d after the status", f.Channel)
		}
	}
}
