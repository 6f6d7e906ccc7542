package server

import (
	"bytes"
	"context"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/server/internal/gen"
)

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
