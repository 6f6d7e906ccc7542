// Package agentclient is the daemon's client of the guest agent's control
// API (agentapi). Errors carry the errdefs classes: a wrong token matches
// errdefs.ErrUnauthorized, an agent that is not listening
// errdefs.ErrUnavailable, a refused request errdefs.ErrInvalid.
package agentclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
)

// Client talks to one agent. It is safe for concurrent use.
type Client struct {
	base   string // http://host:port
	host   string
	token  string
	http   *http.Client
	dialer *net.Dialer
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithDialTimeout bounds connecting to the agent (default 5s).
func WithDialTimeout(d time.Duration) Option {
	return func(c *Client) { c.dialer.Timeout = d }
}

// New returns a client of the agent at addr (host:port) that authenticates
// with token.
func New(addr, token string, opts ...Option) *Client {
	c := &Client{
		base:   "http://" + addr,
		host:   addr,
		token:  token,
		dialer: &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Transport: &http.Transport{
			DialContext:         c.dialer.DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		}}
	}
	return c
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Ping checks that the agent is up and accepts the token.
func (c *Client) Ping(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, agentapi.PathPing, nil, nil)
}

// Info describes the running agent.
func (c *Client) Info(ctx context.Context) (agentapi.Info, error) {
	var info agentapi.Info
	err := c.do(ctx, http.MethodGet, agentapi.PathInfo, nil, &info)
	return info, err
}

// Exec runs a program in the guest and waits for it. A program that ran
// and failed is not an error: see ExecResult.ExitCode.
func (c *Client) Exec(ctx context.Context, req agentapi.ExecRequest) (agentapi.ExecResult, error) {
	var res agentapi.ExecResult
	err := c.do(ctx, http.MethodPost, agentapi.PathExec, req, &res)
	return res, err
}

// Logs returns the newest limit entries of the agent's log ring, oldest
// first (all it keeps when limit <= 0).
func (c *Client) Logs(ctx context.Context, limit int) ([]agentapi.LogEntry, error) {
	path := agentapi.PathLogs
	if limit > 0 {
		path += "?" + agentapi.QueryLimit + "=" + strconv.Itoa(limit)
	}
	var entries []agentapi.LogEntry
	err := c.do(ctx, http.MethodGet, path, nil, &entries)
	return entries, err
}

// Shutdown asks the agent to end its shells and programs and exit 0.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, agentapi.PathShutdown, nil, nil)
}

// DialShell opens a PTY shell: argv (nil for the login shell) on a
// cols x rows terminal. Frames on the returned websocket follow
// guest/shellproto; the caller closes it.
func (c *Client) DialShell(ctx context.Context, argv []string, cols, rows uint16) (*websocket.Conn, error) {
	q := url.Values{}
	for _, a := range argv {
		q.Add(agentapi.QueryArgv, a)
	}
	if cols > 0 {
		q.Set(agentapi.QueryCols, strconv.Itoa(int(cols)))
	}
	if rows > 0 {
		q.Set(agentapi.QueryRows, strconv.Itoa(int(rows)))
	}
	u := "ws://" + c.host + agentapi.PathShell
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	d := websocket.Dialer{
		NetDialContext:   c.dialer.DialContext,
		HandshakeTimeout: 10 * time.Second,
		Subprotocols:     []string{agentapi.ShellSubprotocol},
	}
	h := http.Header{"Authorization": {"Bearer " + c.token}}
	ws, resp, err := d.DialContext(ctx, u, h)
	if err != nil {
		if resp != nil {
			defer resp.Body.Close()
			return nil, responseError("shell", resp)
		}
		return nil, transportError("shell", err)
	}
	if ws.Subprotocol() != agentapi.ShellSubprotocol {
		ws.Close()
		return nil, fmt.Errorf("agent shell: subprotocol %q: %w", ws.Subprotocol(), errdefs.ErrUnsupported)
	}
	return ws, nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("agent %s: %w: %v", path, errdefs.ErrInvalid, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("agent %s: %w: %v", path, errdefs.ErrInvalid, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return responseError(path, resp)
	}
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("agent %s: decode answer: %w: %v", path, errdefs.ErrInternal, err)
	}
	return nil
}

// transportError classes a failure to reach the agent. A cancelled or
// expired context stays recognisable with errors.Is.
func transportError(op string, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("agent %s: %w", op, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("agent %s: %w: %w", op, errdefs.ErrTimeout, err)
	}
	return fmt.Errorf("agent %s: %w: %w", op, errdefs.ErrUnavailable, err)
}

// responseError turns a non-2xx answer into an error of its class.
func responseError(op string, resp *http.Response) error {
	var e agentapi.Error
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &e) != nil || e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return fmt.Errorf("agent %s: %w: %s", op, classOf(resp.StatusCode), e.Message)
}

func classOf(status int) error {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return errdefs.ErrInvalid
	case http.StatusUnauthorized, http.StatusForbidden:
		return errdefs.ErrUnauthorized
	case http.StatusNotFound:
		return errdefs.ErrNotFound
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return errdefs.ErrNotImplemented
	case http.StatusConflict:
		return errdefs.ErrConflict
	case http.StatusPreconditionFailed:
		return errdefs.ErrPrecondition
	case http.StatusRequestEntityTooLarge:
		return errdefs.ErrTooLarge
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return errdefs.ErrUnavailable
	case http.StatusGatewayTimeout:
		return errdefs.ErrTimeout
	}
	return errdefs.ErrInternal
}
