package vpn

import (
	"fmt"
	"github.com/velocitty/microvm/errdefs"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// tunConfig is what openvpn learned for the tun device, from the
// environment it reports with >UPDOWN:UP (the variables an up script gets).
type tunConfig struct {
	dev    string
	mtu    int
	local4 netip.Prefix // address and prefix length; invalid when none
	peer4  netip.Addr   // net30 and p2p topologies: the other end
	local6 netip.Prefix
	routes []netip.Prefix // pushed routes, IPv4 and IPv6
	dns    []netip.Addr   // pushed resolvers
	server netip.AddrPort // the server this connection uses
}

// parseUpDown reads the KEY=VALUE lines of one >UPDOWN block.
func parseUpDown(env map[string]string) (tunConfig, error) {
	var c tunConfig
	c.dev = env["dev"]
	if c.dev == "" || strings.ContainsAny(c.dev, "/ \x00") {
		return c, fmt.Errorf("up-down env: bad dev %q", c.dev)
	}
	if t := env["dev_type"]; t != "" && t != "tun" {
		return c, fmt.Errorf("up-down env: %s devices are not supported, only tun: %w", t, errdefs.ErrUnsupported)
	}
	if v := env["tun_mtu"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 576 || n > 65535 {
			return c, fmt.Errorf("up-down env: bad tun_mtu %q", v)
		}
		c.mtu = n
	}
	if v := env["ifconfig_local"]; v != "" {
		ip, err := netip.ParseAddr(v)
		if err != nil || !ip.Is4() {
			return c, fmt.Errorf("up-down env: bad ifconfig_local %q", v)
		}
		bits := 32
		if m := env["ifconfig_netmask"]; m != "" {
			if bits, err = maskBits(m); err != nil {
				return c, fmt.Errorf("up-down env: %w", err)
			}
		} else if r := env["ifconfig_remote"]; r != "" {
			if c.peer4, err = netip.ParseAddr(r); err != nil {
				return c, fmt.Errorf("up-down env: bad ifconfig_remote %q", r)
			}
		}
		c.local4 = netip.PrefixFrom(ip, bits)
	}
	if v := env["ifconfig_ipv6_local"]; v != "" {
		ip, err := netip.ParseAddr(v)
		if err != nil || !ip.Is6() {
			return c, fmt.Errorf("up-down env: bad ifconfig_ipv6_local %q", v)
		}
		bits, err := strconv.Atoi(env["ifconfig_ipv6_netbits"])
		if err != nil || bits < 0 || bits > 128 {
			bits = 128
		}
		c.local6 = netip.PrefixFrom(ip, bits)
	}
	if !c.local4.IsValid() && !c.local6.IsValid() {
		return c, fmt.Errorf("up-down env: no tunnel address")
	}
	for i := 1; ; i++ {
		n := strconv.Itoa(i)
		network, ok := env["route_network_"+n]
		if !ok {
			break
		}
		ip, err1 := netip.ParseAddr(network)
		bits, err2 := maskBits(env["route_netmask_"+n])
		if err1 != nil || err2 != nil || !ip.Is4() {
			return c, fmt.Errorf("up-down env: bad route %d: %q %q", i, network, env["route_netmask_"+n])
		}
		c.routes = append(c.routes, netip.PrefixFrom(ip, bits).Masked())
	}
	for i := 1; ; i++ {
		network, ok := env["route_ipv6_network_"+strconv.Itoa(i)]
		if !ok {
			break
		}
		p, err := netip.ParsePrefix(network)
		if err != nil || !p.Addr().Is6() {
			return c, fmt.Errorf("up-down env: bad IPv6 route %d: %q", i, network)
		}
		c.routes = append(c.routes, p.Masked())
	}
	c.dns = pushedDNS(env)
	if ip, err := netip.ParseAddr(env["trusted_ip"]); err == nil {
		port, _ := strconv.ParseUint(env["trusted_port"], 10, 16)
		c.server = netip.AddrPortFrom(ip, uint16(port))
	}
	return c, nil
}

// pushedDNS collects resolvers from "dhcp-option DNS|DNS6 addr" foreign
// options and from the 2.6 --dns option (dns_server_N_address_M).
func pushedDNS(env map[string]string) []netip.Addr {
	var out []netip.Addr
	add := func(s string) {
		if ip, err := netip.ParseAddr(s); err == nil && !slices.Contains(out, ip.Unmap()) {
			out = append(out, ip.Unmap())
		}
	}
	for i := 1; ; i++ {
		opt, ok := env["foreign_option_"+strconv.Itoa(i)]
		if !ok {
			break
		}
		f := strings.Fields(opt)
		if len(f) == 3 && f[0] == "dhcp-option" && (f[1] == "DNS" || f[1] == "DNS6") {
			add(f[2])
		}
	}
	for n := 1; n < 256; n++ {
		m := 1
		for ; ; m++ {
			v, ok := env[fmt.Sprintf("dns_server_%d_address_%d", n, m)]
			if !ok {
				break
			}
			if ap, err := netip.ParseAddrPort(v); err == nil {
				v = ap.Addr().String()
			}
			add(v)
		}
		if m == 1 {
			break
		}
	}
	return out
}

// maskBits converts a dotted IPv4 netmask to a prefix length.
func maskBits(mask string) (int, error) {
	ip, err := netip.ParseAddr(mask)
	if err != nil || !ip.Is4() {
		return 0, fmt.Errorf("bad netmask %q", mask)
	}
	a := ip.As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	if v != 0 {
		return 0, fmt.Errorf("bad netmask %q: not contiguous", mask)
	}
	return bits, nil
}
