// Package client is the Go client of microvm-api, for embedding in
// applications: it finds the daemon through its data directory, sends the
// bearer token, and turns problem answers into *Error values that match
// the errdefs classes with errors.Is.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client/internal/gen"
)

// Client talks to one daemon. It is safe for concurrent use.
type Client struct {
	url   string
	token string
	http  *http.Client
	gen   *gen.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for requests, e.g. to add a
// timeout or a custom transport. The default has no overall timeout, so
// that long operations and event streams work; bound calls with contexts.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// New returns a client for the daemon at url (e.g. "http://127.0.0.1:8421")
// using token.
func New(rawURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: bad daemon URL %q", rawURL)
	}
	c := &Client{url: strings.TrimSuffix(rawURL, "/"), token: token, http: &http.Client{}}
	for _, o := range opts {
		o(c)
	}
	c.gen, err = gen.NewClient(c.url, gen.WithHTTPClient(c.http), gen.WithRequestEditorFn(c.authorize))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

// DefaultDataDir is the data directory a daemon started without
// --data-dir uses, for the current user.
func DefaultDataDir() (string, error) { return api.DefaultDataDir() }

// FromDataDir returns a client for the daemon serving dir ("" means
// DefaultDataDir), reading its api.json and token.
func FromDataDir(dir string, opts ...Option) (*Client, error) {
	if dir == "" {
		var err error
		if dir, err = DefaultDataDir(); err != nil {
			return nil, err
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, api.DiscoveryFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("client: no %s in %s: is the daemon running? (microvm-api serve --data-dir %s)",
			api.DiscoveryFile, dir, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	var d api.Discovery
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("client: decode %s: %w", api.DiscoveryFile, err)
	}
	token, err := os.ReadFile(filepath.Join(dir, api.TokenFile))
	if err != nil {
		return nil, fmt.Errorf("client: read token: %w", err)
	}
	return New(d.URL, strings.TrimSpace(string(token)), opts...)
}

// URL is the daemon's base URL.
func (c *Client) URL() string { return c.url }

func (c *Client) authorize(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "Bearer "+c.token)
	return nil
}

// WaitReady polls /v1/health until the daemon answers or ctx ends.
func (c *Client) WaitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.Health(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for daemon: %w (last error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// maxBody bounds a JSON answer; exec output is the largest.
const maxBody = 64 << 20

// decode reads a JSON answer of the wanted status into T, or returns the
// problem as an *Error.
func decode[T any](c *Client, op string, resp *http.Response, err error, want int) (T, error) {
	var v T
	if err != nil {
		return v, c.transportError(op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return v, responseError(op, resp)
	}
	if want == http.StatusNoContent {
		return v, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&v); err != nil {
		return v, fmt.Errorf("%s: decode answer: %w", op, err)
	}
	return v, nil
}

// transportError explains a failure to reach the daemon.
func (c *Client) transportError(op string, err error) error {
	var op2 *net.OpError
	if errors.As(err, &op2) && op2.Op == "dial" {
		return fmt.Errorf("%s: cannot reach microvm-api at %s: is the daemon running? %w", op, c.url, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
