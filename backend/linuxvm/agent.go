package linuxvm

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

// agentConn speaks the two agent calls the backend needs. The box shares
// the host's network, so the agent's 127.0.0.1 is the host's.
type agentConn struct {
	base  string
	token string
	hc    *http.Client
}

func newAgentConn(port int, token string) *agentConn {
	return &agentConn{
		base:  "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		token: token,
		hc:    &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
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
