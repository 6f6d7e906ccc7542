package client

import (
	"context"
	"io"
	"net/http"

	"github.com/velocitty/microvm/api"
)

// ProfileMediaType is the Content-Type of a raw .ovpn upload.
const ProfileMediaType = "application/x-openvpn-profile"

// ListProfiles returns every VPN profile, without secrets.
func (c *Client) ListProfiles(ctx context.Context) ([]api.VPNProfile, error) {
	resp, err := c.gen.ListVPNProfiles(ctx)
	list, err := decode[api.VPNProfileList](c, "list VPN profiles", resp, err, http.StatusOK)
	return list.Profiles, err
}

// GetProfile returns one VPN profile, without secrets.
func (c *Client) GetProfile(ctx context.Context, name string) (api.VPNProfile, error) {
	resp, err := c.gen.GetVPNProfile(ctx, name)
	return decode[api.VPNProfile](c, "get VPN profile "+name, resp, err, http.StatusOK)
}

// CreateProfile stores a new profile; an existing name is ErrAlreadyExists.
func (c *Client) CreateProfile(ctx context.Context, req api.CreateVPNProfileRequest) (api.VPNProfile, error) {
	resp, err := c.gen.CreateVPNProfile(ctx, req)
	return decode[api.VPNProfile](c, "create VPN profile "+req.Name, resp, err, http.StatusCreated)
}

// PutProfile creates or replaces a profile. Nil Username or Password keep
// the stored one; a pointer to "" clears it.
func (c *Client) PutProfile(ctx context.Context, name string, req api.PutVPNProfileRequest) (api.VPNProfile, error) {
	resp, err := c.gen.PutVPNProfile(ctx, name, req)
	return putResult(c, name, resp, err)
}

// UploadProfile creates or replaces a profile from a raw .ovpn file,
// keeping stored credentials.
func (c *Client) UploadProfile(ctx context.Context, name string, ovpn io.Reader) (api.VPNProfile, error) {
	resp, err := c.gen.PutVPNProfileWithBody(ctx, name, ProfileMediaType, ovpn)
	return putResult(c, name, resp, err)
}

func putResult(c *Client, name string, resp *http.Response, err error) (api.VPNProfile, error) {
	op := "put VPN profile " + name
	if err == nil && resp.StatusCode == http.StatusCreated {
		return decode[api.VPNProfile](c, op, resp, err, http.StatusCreated)
	}
	return decode[api.VPNProfile](c, op, resp, err, http.StatusOK)
}

// DeleteProfile removes a profile and its credentials.
func (c *Client) DeleteProfile(ctx context.Context, name string) error {
	resp, err := c.gen.DeleteVPNProfile(ctx, name)
	_, err = decode[struct{}](c, "delete VPN profile "+name, resp, err, http.StatusNoContent)
	return err
}
