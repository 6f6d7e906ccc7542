package agentclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
)

// VPNStatus reports the agent's tunnel.
func (c *Client) VPNStatus(ctx context.Context) (agentapi.VPNStatus, error) {
	var st agentapi.VPNStatus
	err := c.do(ctx, http.MethodGet, agentapi.PathVPN, nil, &st)
	return st, err
}

// VPNWatch waits until the tunnel's status changes past generation after
// (see agentapi.VPNStatus.Generation) and returns it, or returns the
// current status once wait has passed. It is how the daemon turns every
// change into an event at once, without polling.
func (c *Client) VPNWatch(ctx context.Context, after uint64, wait time.Duration) (agentapi.VPNStatus, error) {
	var st agentapi.VPNStatus
	q := url.Values{"after": {strconv.FormatUint(after, 10)}, "wait": {wait.String()}}
	err := c.do(ctx, http.MethodGet, agentapi.PathVPN+"?"+q.Encode(), nil, &st)
	return st, err
}

// VPNConnect selects a profile: the agent starts openvpn and answers
// before the tunnel is up (state connecting).
func (c *Client) VPNConnect(ctx context.Context, req agentapi.VPNConnect) (agentapi.VPNStatus, error) {
	var st agentapi.VPNStatus
	err := c.do(ctx, http.MethodPut, agentapi.PathVPN, req, &st)
	return st, err
}

// VPNDisconnect stops the tunnel; the proxy goes direct again.
func (c *Client) VPNDisconnect(ctx context.Context) (agentapi.VPNStatus, error) {
	var st agentapi.VPNStatus
	err := c.do(ctx, http.MethodDelete, agentapi.PathVPN, nil, &st)
	return st, err
}
