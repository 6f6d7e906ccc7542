package vpn

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// configure moves the tun device named by c into the namespace, unless it
// is there already (persist-tun keeps it across reconnects), and gives it
// its addresses, pushed routes and default routes. It is idempotent.
// mainNL is a netlink handle in the agent's namespace.
func (n *tunnelNS) configure(mainNL *netlink.Handle, c tunConfig) error {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return errNSClosed
	}
	link, err := n.nl.LinkByName(c.dev)
	if err != nil {
		ml, merr := mainNL.LinkByName(c.dev)
		if merr != nil {
			return fmt.Errorf("find tun device %s: %w", c.dev, merr)
		}
		// Never move anything but a tun device, whatever openvpn says.
		if ml.Type() != "tuntap" {
			return fmt.Errorf("move %s: is a %s device, not tun", c.dev, ml.Type())
		}
		if err := mainNL.LinkSetNsFd(ml, n.fd); err != nil {
			return fmt.Errorf("move %s into the tunnel namespace: %w", c.dev, err)
		}
		if link, err = n.nl.LinkByName(c.dev); err != nil {
			return fmt.Errorf("find %s in the tunnel namespace: %w", c.dev, err)
		}
	}
	if link.Type() != "tuntap" {
		return fmt.Errorf("configure %s: is a %s device, not tun", c.dev, link.Type())
	}
	if c.mtu > 0 && link.Attrs().MTU != c.mtu {
		if err := n.nl.LinkSetMTU(link, c.mtu); err != nil {
			return fmt.Errorf("set %s mtu %d: %w", c.dev, c.mtu, err)
		}
	}
	if err := n.nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", c.dev, err)
	}
	if err := n.setAddrs(link, c); err != nil {
		return err
	}
	return n.setRoutes(link, c)
}

func (n *tunnelNS) setAddrs(link netlink.Link, c tunConfig) error {
	var want []*netlink.Addr
	if c.local4.IsValid() {
		a := &netlink.Addr{IPNet: ipNet(c.local4)}
		if c.peer4.IsValid() {
			a.Peer = ipNet(netip.PrefixFrom(c.peer4, 32))
		}
		want = append(want, a)
	}
	if c.local6.IsValid() {
		// No duplicate address detection on a point-to-point tunnel: the
		// address must be usable at once.
		want = append(want, &netlink.Addr{IPNet: ipNet(c.local6), Flags: unix.IFA_F_NODAD})
	}
	have, err := n.nl.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list %s addresses: %w", c.dev, err)
	}
	for _, h := range have {
		if h.IP.IsLinkLocalUnicast() {
			continue
		}
		if !slices.ContainsFunc(want, func(w *netlink.Addr) bool { return w.Equal(h) }) {
			if err := n.nl.AddrDel(link, &h); err != nil {
				return fmt.Errorf("remove stale address %s: %w", h.IPNet, err)
			}
		}
	}
	for _, w := range want {
		if err := n.nl.AddrReplace(link, w); err != nil {
			return fmt.Errorf("add address %s to %s: %w", w.IPNet, c.dev, err)
		}
	}
	return nil
}

// setRoutes sends everything into the tunnel: a default route per address
// family the tunnel has, plus the pushed routes (redundant under the
// default route, kept so that the table says what the server pushed).
func (n *tunnelNS) setRoutes(link netlink.Link, c tunConfig) error {
	var dsts []netip.Prefix
	if c.local4.IsValid() {
		dsts = append(dsts, netip.MustParsePrefix("0.0.0.0/0"))
	}
	if c.local6.IsValid() {
		dsts = append(dsts, netip.MustParsePrefix("::/0"))
	}
	for _, r := range c.routes {
		if r.Addr().Is4() && c.local4.IsValid() || r.Addr().Is6() && c.local6.IsValid() {
			dsts = append(dsts, r)
		}
	}
	for _, d := range dsts {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(d), Family: unix.AF_INET6}
		if d.Addr().Is4() {
			r.Family = unix.AF_INET
			r.Scope = netlink.SCOPE_LINK
		}
		if err := n.nl.RouteReplace(r); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add route %s dev %s: %w", d, c.dev, err)
		}
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}
