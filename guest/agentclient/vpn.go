package agentclient

import (
	"context"
	"net/http"

	"github.com/velocitty/microvm/guest/agentapi"
)

// VPNStatus reports the agent's tunnel.
func (c *Client) VPNStatus(ctx context.Context) (agentapi.VPNStatus, error) {
	var st agentapi.VPNStatus
	err := c.do(ctx, http.MethodGet, agentapi.PathVPN, nil, &st)
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
