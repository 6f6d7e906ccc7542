package client

import (
	"context"
	"net/http"

	"github.com/velocitty/microvm/api"
)

// VPNStatus returns the state of a VM's VPN.
func (c *Client) VPNStatus(ctx context.Context, vm string) (api.VPNStatus, error) {
	resp, err := c.gen.GetVPNStatus(ctx, vm)
	return decode[api.VPNStatus](c, "VPN status of VM "+vm, resp, err, http.StatusOK)
}

// ConnectVPN starts connecting a VM's proxy through profile. It returns
// once the attempt has begun; follow State with VPNStatus or Events.
func (c *Client) ConnectVPN(ctx context.Context, vm, profile string) (api.VPNStatus, error) {
	resp, err := c.gen.ConnectVPN(ctx, vm, api.ConnectVPNRequest{Profile: profile})
	return decode[api.VPNStatus](c, "connect VPN of VM "+vm, resp, err, http.StatusOK)
}

// DisconnectVPN stops a VM's VPN; the proxy connects directly again.
func (c *Client) DisconnectVPN(ctx context.Context, vm string) (api.VPNStatus, error) {
	resp, err := c.gen.DisconnectVPN(ctx, vm)
	return decode[api.VPNStatus](c, "disconnect VPN of VM "+vm, resp, err, http.StatusOK)
}
