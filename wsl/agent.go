package wsl

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
)

// agentConn speaks the few agent calls the backend needs. WSL2 forwards
// the guest's 127.0.0.1 listeners to the host's 127.0.0.1.
type agentConn struct {
	base  string
	token string
	hc    *http.Client
}

func newAgentConn(port int, token string) *agentConn {
	return &agentConn{
		base:  "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		token: token,
		hc:    &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

func (a *agentConn) do(ctx context.Context, method, path string, want int) error {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, nil)
	if err != nil {
		return fmt.Errorf("agent %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("agent %s %s: %w: %w", method, path, errdefs.ErrUnavailable, err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("agent %s %s: status %d: %w", method, path, resp.StatusCode, errdefs.ErrUnavailable)
	}
	return nil
}

// ping reports nil when the agent answers and accepts the token.
func (a *agentConn) ping(ctx context.Context) error {
	return a.do(ctx, http.MethodGet, agentapi.PathPing, http.StatusNoContent)
}

// shutdown asks the agent to exit.
func (a *agentConn) shutdown(ctx context.Context) error {
	return a.do(ctx, http.MethodPost, agentapi.PathShutdown, http.StatusAccepted)
}

// waitPing polls until the agent answers, ctx ends or died is closed.
func (a *agentConn) waitPing(ctx context.Context, died <-chan struct{}) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		if last = a.ping(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for agent: %w (last: %v)", errdefs.ErrTimeout, last)
		case <-died:
			return fmt.Errorf("wait for agent: the keep-alive wsl.exe exited: %w", errdefs.ErrUnavailable)
		case <-t.C:
		}
	}
}

// waitGone polls until the agent stops answering or ctx ends.
func (a *agentConn) waitGone(ctx context.Context) bool {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if a.ping(ctx) != nil {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
