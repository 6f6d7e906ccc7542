package server

import (
	"context"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/server/internal/gen"
)

// VPNs is what the VPN routes need of the VM manager. A Machines that
// does not implement it makes them answer 501.
type VPNs interface {
	VPNStatus(ctx context.Context, name string) (agentapi.VPNStatus, error)
	ConnectVPN(ctx context.Context, name, profile string) (agentapi.VPNStatus, error)
	DisconnectVPN(ctx context.Context, name string) (agentapi.VPNStatus, error)
}

func (h *handlers) vpns() (VPNs, error) {
	v, ok := h.cfg.Machines.(VPNs)
	if !ok {
		return nil, notImplemented("VPN connections")
	}
	return v, nil
}

func (h *handlers) GetVPNStatus(ctx context.Context, req gen.GetVPNStatusRequestObject) (gen.GetVPNStatusResponseObject, error) {
	v, err := h.vpns()
	if err != nil {
		return nil, err
	}
	st, err := v.VPNStatus(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	return gen.GetVPNStatus200JSONResponse{VPNStatusResultJSONResponse: gen.VPNStatusResultJSONResponse(toVPNStatus(st))}, nil
}

func (h *handlers) ConnectVPN(ctx context.Context, req gen.ConnectVPNRequestObject) (gen.ConnectVPNResponseObject, error) {
	v, err := h.vpns()
	if err != nil {
		return nil, err
	}
	st, err := v.ConnectVPN(ctx, req.Name, req.Body.Profile)
	if err != nil {
		return nil, err
	}
	return gen.ConnectVPN200JSONResponse{VPNStatusResultJSONResponse: gen.VPNStatusResultJSONResponse(toVPNStatus(st))}, nil
}

func (h *handlers) DisconnectVPN(ctx context.Context, req gen.DisconnectVPNRequestObject) (gen.DisconnectVPNResponseObject, error) {
	v, err := h.vpns()
	if err != nil {
		return nil, err
	}
	st, err := v.DisconnectVPN(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	return gen.DisconnectVPN200JSONResponse{VPNStatusResultJSONResponse: gen.VPNStatusResultJSONResponse(toVPNStatus(st))}, nil
}

func toVPNStatus(s agentapi.VPNStatus) api.VPNStatus {
	var addrs []string
	for _, a := range []string{s.TunnelIPv4, s.TunnelIPv6} {
		if a != "" {
			addrs = append(addrs, a)
		}
	}
	return api.VPNStatus{
		State:           api.VPNState(s.State),
		Profile:         s.Profile,
		TunnelAddresses: addrs,
		Server:          s.Server,
		Since:           s.Since,
		BytesIn:         s.BytesIn,
		BytesOut:        s.BytesOut,
		Retries:         s.Retries,
		LastError:       s.LastError,
	}
}
