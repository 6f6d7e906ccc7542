package wsl

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentclient"
)

// oneShot sends the backend's few agent calls without keeping idle
// connections: they are rare (start, stop, status).
var oneShot = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// agentAt returns a client of the agent listening on port. WSL2 forwards
// the guest's 127.0.0.1 listeners to the host's 127.0.0.1.
func agentAt(port int, token string) *agentclient.Client {
	return agentclient.New(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), token, agentclient.WithHTTPClient(oneShot))
}

// waitPing polls until the agent answers, ctx ends or died is closed.
func waitPing(ctx context.Context, agent *agentclient.Client, died <-chan struct{}) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		if last = agent.Ping(ctx); last == nil {
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
func waitGone(ctx context.Context, agent *agentclient.Client) bool {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if agent.Ping(ctx) != nil {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
