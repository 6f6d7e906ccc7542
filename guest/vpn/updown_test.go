package vpn

import (
	"net/netip"
	"reflect"
	"testing"
)

// labEnv is what openvpn 2.6.14 reported with >UPDOWN:UP in the lab.
func labEnv() map[string]string {
	return map[string]string{
		"dev_type": "tun", "dev": "tun0", "tun_mtu": "1500", "script_context": "init",
		"route_gateway_1": "10.8.0.1", "route_netmask_1": "255.255.255.0", "route_network_1": "10.9.0.0",
		"route_vpn_gateway": "10.8.0.1", "route_net_gateway": "192.0.2.1",
		"ifconfig_ipv6_remote": "fdcc:8::1", "ifconfig_ipv6_netbits": "64", "ifconfig_ipv6_local": "fdcc:8::1000",
		"ifconfig_netmask": "255.255.255.0", "ifconfig_local": "10.8.0.2",
		"foreign_option_1": "dhcp-option DNS 10.9.0.1",
		"trusted_port":     "1194", "trusted_ip": "172.31.5.18",
	}
}

func TestParseUpDown(t *testing.T) {
	c, err := parseUpDown(labEnv())
	if err != nil {
		t.Fatal(err)
	}
	want := tunConfig{
		dev:    "tun0",
		mtu:    1500,
		local4: netip.MustParsePrefix("10.8.0.2/24"),
		local6: netip.MustParsePrefix("fdcc:8::1000/64"),
		routes: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/24")},
		dns:    []netip.Addr{netip.MustParseAddr("10.9.0.1")},
		server: netip.MustParseAddrPort("172.31.5.18:1194"),
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("parseUpDown =\n%+v\nwant\n%+v", c, want)
	}
}

func TestParseUpDownVariants(t *testing.T) {
	env := map[string]string{
		"dev": "tun3", "ifconfig_local": "10.8.0.6", "ifconfig_remote": "10.8.0.5",
		"route_ipv6_network_1":   "fdcc:9::/48",
		"foreign_option_1":       "dhcp-option DOMAIN corp",
		"foreign_option_2":       "dhcp-option DNS6 fdcc::53",
		"dns_server_1_address_1": "10.0.0.53", "dns_server_1_address_2": "[fdcc::54]:53",
		"dns_server_2_address_1": "10.0.0.53",
	}
	c, err := parseUpDown(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.local4 != netip.MustParsePrefix("10.8.0.6/32") || c.peer4 != netip.MustParseAddr("10.8.0.5") {
		t.Errorf("net30: local %v peer %v", c.local4, c.peer4)
	}
	if len(c.routes) != 1 || c.routes[0] != netip.MustParsePrefix("fdcc:9::/48") {
		t.Errorf("routes %v", c.routes)
	}
	wantDNS := []netip.Addr{netip.MustParseAddr("fdcc::53"), netip.MustParseAddr("10.0.0.53"), netip.MustParseAddr("fdcc::54")}
	if !reflect.DeepEqual(c.dns, wantDNS) {
		t.Errorf("dns %v, want %v", c.dns, wantDNS)
	}
}

func TestParseUpDownRejects(t *testing.T) {
	for name, mut := range map[string]func(map[string]string){
		"no dev":       func(e map[string]string) { delete(e, "dev") },
		"dev path":     func(e map[string]string) { e["dev"] = "../eth0" },
		"bad mtu":      func(e map[string]string) { e["tun_mtu"] = "12" },
		"tap":          func(e map[string]string) { e["dev_type"] = "tap" },
		"bad local":    func(e map[string]string) { e["ifconfig_local"] = "fdcc::1" },
		"bad mask":     func(e map[string]string) { e["ifconfig_netmask"] = "255.0.255.0" },
		"bad route":    func(e map[string]string) { e["route_netmask_1"] = "x" },
		"no addresses": func(e map[string]string) { delete(e, "ifconfig_local"); delete(e, "ifconfig_ipv6_local") },
	} {
		env := labEnv()
		mut(env)
		if _, err := parseUpDown(env); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMaskBits(t *testing.T) {
	for mask, bits := range map[string]int{"255.255.255.0": 24, "255.255.255.252": 30, "0.0.0.0": 0, "255.255.255.255": 32} {
		if got, err := maskBits(mask); err != nil || got != bits {
			t.Errorf("maskBits(%s) = %d, %v; want %d", mask, got, err, bits)
		}
	}
}
