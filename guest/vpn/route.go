package vpn

import (
	"context"
	"net"
	"net/netip"
)

// route is how proxied traffic reaches targets while the tunnel is up.
type route struct {
	dial     func(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error)
	resolver *net.Resolver
	has4     bool
	has6     bool
}

// newRoute builds a route whose name lookups go to dns (the pushed servers)
// through dial. With no pushed server, the resolver's own configuration
// (/etc/resolv.conf) is used, still dialed through the tunnel: names never
// leak to a resolver outside it.
func newRoute(dial func(context.Context, string, netip.AddrPort) (net.Conn, error), dns []netip.Addr, has4, has6 bool) *route {
	r := &route{dial: dial, has4: has4, has6: has6}
	r.resolver = &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return nil, &net.AddrError{Err: "not an ip:port", Addr: address}
			}
			var first error
			servers := dns
			if len(servers) == 0 {
				servers = []netip.Addr{ap.Addr()}
			}
			for _, s := range servers {
				c, err := dial(ctx, network, netip.AddrPortFrom(s, 53))
				if err == nil {
					return c, nil
				}
				if first == nil {
					first = err
				}
			}
			return nil, first
		},
	}
	return r
}

// lookup resolves host to the address families the tunnel carries.
func (r *route) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	network := "ip"
	switch {
	case r.has4 && !r.has6:
		network = "ip4"
	case r.has6 && !r.has4:
		network = "ip6"
	}
	addrs, err := r.resolver.LookupNetIP(ctx, network, host)
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	return addrs, err
}
