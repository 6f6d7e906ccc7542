package server

import (
	"bytes"
	"context"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/server/internal/gen"
)

// Routes whose features arrive later answer 501 not_implemented.

func (h *handlers) GetVPNStatus(context.Context, gen.GetVPNStatusRequestObject) (gen.GetVPNStatusResponseObject, error) {
	return nil, notImplemented("VPN status")
}

func (h *handlers) ConnectVPN(context.Context, gen.ConnectVPNRequestObject) (gen.ConnectVPNResponseObject, error) {
	return nil, notImplemented("VPN connect")
}

func (h *handlers) DisconnectVPN(context.Context, gen.DisconnectVPNRequestObject) (gen.DisconnectVPNResponseObject, error) {
	return nil, notImplemented("VPN disconnect")
}

// StreamEvents is served by rawRoutes, which needs the ResponseWriter;
// the strict version is never called.

func (h *handlers) StreamEvents(context.Context, gen.StreamEventsRequestObject) (gen.StreamEventsResponseObject, error) {
	return nil, notImplemented("the event stream")
}

func (h *handlers) GetOpenAPI(context.Context, gen.GetOpenAPIRequestObject) (gen.GetOpenAPIResponseObject, error) {
	spec := api.Spec()
	return gen.GetOpenAPI200ApplicationYamlResponse{
		Body: bytes.NewReader(spec), ContentLength: int64(len(spec)),
	}, nil
}
