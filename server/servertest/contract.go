// Package servertest helps tests of anything that talks to the API check
// the daemon's answers against api/openapi.yaml.
package servertest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/velocitty/microvm/api"
)

var (
	once   sync.Once
	router routers.Router
	err    error
)

func specRouter() (routers.Router, error) {
	once.Do(func() {
		var doc *openapi3.T
		doc, err = openapi3.NewLoader().LoadFromData(api.Spec())
		if err != nil {
			return
		}
		doc.Servers = nil // match paths on any host
		router, err = legacy.NewRouter(doc)
	})
	return router, err
}

// Contract returns a RoundTripper that sends requests through base (nil:
// http.DefaultTransport) and fails tb for every answer the spec does not
// allow: an unlisted status, a wrong media type or header, a body that
// does not match its schema, or an error that is not a problem document.
// Event streams are passed through unread.
func Contract(tb testing.TB, base http.RoundTripper) http.RoundTripper {
	tb.Helper()
	r, err := specRouter()
	if err != nil {
		tb.Fatalf("servertest: load spec: %v", err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &contract{tb: tb, base: base, router: r}
}

type contract struct {
	tb     testing.TB
	base   http.RoundTripper
	router routers.Router
}

func (c *contract) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	ct := resp.Header.Get("Content-Type")
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		// Unknown routes and methods still answer problems.
		if resp.StatusCode < 400 || ct != "application/problem+json" {
			c.tb.Errorf("contract: %s %s: no such operation, answered %d %s", req.Method, req.URL.Path, resp.StatusCode, ct)
		}
		return resp, nil
	}
	if ct == "text/event-stream" {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		c.tb.Errorf("contract: %s %s -> %d violates the spec: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	if resp.StatusCode >= 400 && ct != "application/problem+json" {
		c.tb.Errorf("contract: %s %s -> %d is not a problem document", req.Method, req.URL.Path, resp.StatusCode)
	}
	return resp, nil
}
