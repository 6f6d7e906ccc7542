//go:build e2e && linux

package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/proxy"
)

// socksLoad is the SOCKS5 side of the load: each conn keeps a keep-alive
// connection through the proxy to the lab's remote and makes requests on
// it, now and then on a new connection.
type socksLoad struct {
	addr, remote string
	pool         netip.Prefix
	tally        *tally
	allOpen      sync.WaitGroup // done once each conn has answered once
	open         atomic.Int64   // connections open now
	dialed       atomic.Int64   // connections opened in all
}

func (s *socksLoad) conn(ctx context.Context) {
	first := true
	defer func() {
		if first {
			s.allOpen.Done()
		}
	}()
	hc, tr, err := s.client()
	if err != nil {
		s.tally.done(0, err)
		return
	}
	defer tr.CloseIdleConnections()
	rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
	for n := 0; ; n++ {
		if n > 0 && n%newConnEvery == 0 {
			tr.CloseIdleConnections()
		}
		began := time.Now()
		reqCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := s.get(reqCtx, hc, n%2 == 0)
		cancel()
		s.tally.done(time.Since(began), err)
		if first {
			first = false
			s.allOpen.Done()
			// Hold the connection until every other one is open too, so
			// that all of them are open at once at least this once.
			s.allOpen.Wait()
		}
		if !think(ctx, rng, socksThink) {
			return
		}
	}
}

// client returns an HTTP client that keeps one connection through the
// proxy, counted in s.open and s.dialed.
func (s *socksLoad) client() (*http.Client, *http.Transport, error) {
	socks, err := proxy.SOCKS5("tcp", s.addr, nil, &net.Dialer{})
	if err != nil {
		return nil, nil, err
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := socks.(proxy.ContextDialer).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			s.dialed.Add(1)
			s.open.Add(1)
			return &countedConn{Conn: c, open: &s.open}, nil
		},
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr}, tr, nil
}

// sequential makes n requests one after the other on one connection, for
// the latency of an unloaded tunnel.
func (s *socksLoad) sequential(ctx context.Context, n int) *tally {
	var t tally
	hc, tr, err := s.client()
	if err != nil {
		t.done(0, err)
		return &t
	}
	defer tr.CloseIdleConnections()
	for i := range n {
		began := time.Now()
		err := s.get(ctx, hc, i%2 == 0)
		t.done(time.Since(began), err)
	}
	return &t
}

// get fetches /ip (which must be a VPN pool address) or 4 KiB of /bytes.
func (s *socksLoad) get(ctx context.Context, hc *http.Client, ip bool) error {
	path, want := "/bytes?n=4096", 4096
	if ip {
		path, want = "/ip", -1
	}
	req, err := http.NewRequestWithContext(ctx, "GET", s.remote+path, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return fmt.Errorf("GET %s: %w", path, err)
	case resp.StatusCode != 200:
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	case want >= 0 && len(body) != want:
		return fmt.Errorf("GET %s: %d bytes", path, len(body))
	}
	if ip {
		a, err := netip.ParseAddr(string(body))
		if err != nil || !s.pool.Contains(a) {
			return fmt.Errorf("GET /ip: %q is not in the VPN pool %v", body, s.pool)
		}
	}
	return nil
}

type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}
