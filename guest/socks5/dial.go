package socks5

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

type upstream struct {
	dial    Dialer
	resolve Resolver
}

// SetUpstream replaces how the proxy reaches targets, for connections
// accepted from now on. A nil dialer or resolver means the direct default.
func (s *Server) SetUpstream(d Dialer, r Resolver) {
	s.upstream.Store(&upstream{dial: d, resolve: r})
}

// defaultDialer connects directly. No TCP keepalive: the client side (an
// SSH client, typically) has its own, and a dead client ends both conns.
var defaultDialer = &net.Dialer{KeepAlive: -1}

func defaultResolve(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// dial connects to the request's target, resolving a domain name first and
// trying each of its addresses in turn.
func (s *Server) dial(ctx context.Context, req Request) (net.Conn, error) {
	var d Dialer = defaultDialer
	resolve := Resolver(defaultResolve)
	if u := s.upstream.Load(); u != nil {
		if u.dial != nil {
			d = u.dial
		}
		if u.resolve != nil {
			resolve = u.resolve
		}
	}
	timeout := s.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	addr := req.Addr
	if req.Host != "" {
		if ip, err := netip.ParseAddr(req.Host); err == nil {
			addr = ip
		} else {
			addrs, err := resolve(ctx, req.Host)
			if err != nil {
				return nil, fmt.Errorf("resolve %s: %w", req.Host, err)
			}
			if len(addrs) == 0 {
				return nil, fmt.Errorf("resolve %s: %w", req.Host, errNoAddress)
			}
			var first error
			for _, a := range addrs {
				c, err := d.DialContext(ctx, "tcp", addrPort(a, req.Port))
				if err == nil {
					return c, nil
				}
				if first == nil {
					first = err
				}
				if ctx.Err() != nil {
					break
				}
			}
			return nil, first
		}
	}
	return d.DialContext(ctx, "tcp", addrPort(addr, req.Port))
}

func addrPort(a netip.Addr, port uint16) string {
	a = a.Unmap()
	if a.Is4() {
		return a.String() + ":" + strconv.Itoa(int(port))
	}
	return "[" + a.String() + "]:" + strconv.Itoa(int(port))
}
