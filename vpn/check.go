package vpn

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// argCheck validates a directive's arguments; its error text becomes the
// DirectiveError reason.
type argCheck func(args []string) error

var (
	hostRE   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._:-]{0,252})$`)
	wordRE   = regexp.MustCompile(`^[A-Za-z0-9_.:+=@!/,-]{1,250}$`)
	hexRE    = regexp.MustCompile(`^[0-9A-Fa-f]{2}(:?[0-9A-Fa-f]{2})*$`)
	prefixRE = regexp.MustCompile(`^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$`)
	uvRE     = regexp.MustCompile(`^UV_[A-Za-z0-9_]{1,60}$`)
)

// number accepts a decimal integer in [0, 2^31).
func number(s string) error {
	if s == "" || len(s) > 10 || strings.Trim(s, "0123456789") != "" {
		return fmt.Errorf("%q is not a number", clip(s))
	}
	if n, err := strconv.ParseInt(s, 10, 64); err != nil || n > 1<<31-1 {
		return fmt.Errorf("%q is out of range", clip(s))
	}
	return nil
}

func port(s string) error {
	if err := number(s); err != nil {
		return err
	}
	if n, _ := strconv.Atoi(s); n < 1 || n > 65535 {
		return fmt.Errorf("port %s is out of range", s)
	}
	return nil
}

func host(s string) error {
	if !hostRE.MatchString(s) {
		return fmt.Errorf("%q is not a host name or IP address", clip(s))
	}
	return nil
}

func word(s string) error {
	if !wordRE.MatchString(s) {
		return fmt.Errorf("%q contains characters that are not allowed here", clip(s))
	}
	return nil
}

// text accepts any printable argument (control characters are refused
// for every token before checks run).
func text(string) error { return nil }

func ipAddr(s string) error {
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Errorf("%q is not an IP address", clip(s))
	}
	return nil
}

// each applies per-position checks; the last one repeats for any further
// arguments.
func each(checks ...func(string) error) argCheck {
	return func(args []string) error {
		for i, a := range args {
			c := checks[min(i, len(checks)-1)]
			if err := c(a); err != nil {
				return err
			}
		}
		return nil
	}
}

func oneOf(values ...string) func(string) error {
	return func(s string) error {
		if !slices.Contains(values, s) {
			return fmt.Errorf("%q is not one of %s", clip(s), strings.Join(values, ", "))
		}
		return nil
	}
}

func either(a, b func(string) error) func(string) error {
	return func(s string) error {
		if a(s) == nil {
			return nil
		}
		return b(s)
	}
}

var protos = []string{"udp", "udp4", "udp6", "tcp", "tcp4", "tcp6", "tcp-client", "tcp4-client", "tcp6-client"}

var proto = oneOf(protos...)

func checkDev(args []string) error {
	d := args[0]
	if strings.HasPrefix(d, "tap") || d == "null" {
		return fmt.Errorf("only tun devices are supported")
	}
	if d != "tun" && !(strings.HasPrefix(d, "tun") && len(d) <= 7 && number(d[3:]) == nil) {
		return fmt.Errorf("%q is not a tun device name", clip(d))
	}
	return nil
}

func checkRemote(args []string) error {
	if err := host(args[0]); err != nil {
		return err
	}
	if len(args) > 1 {
		if err := port(args[1]); err != nil {
			return err
		}
	}
	if len(args) > 2 {
		return proto(args[2])
	}
	return nil
}

var routeHost = either(oneOf("vpn_gateway", "net_gateway", "remote_host", "default"), host)

func checkRoute(args []string) error {
	if err := routeHost(args[0]); err != nil {
		return err
	}
	if len(args) > 1 {
		if err := either(oneOf("default"), ipAddr)(args[1]); err != nil {
			return err
		}
	}
	if len(args) > 2 {
		if err := routeHost(args[2]); err != nil {
			return err
		}
	}
	if len(args) > 3 {
		return either(oneOf("default"), number)(args[3])
	}
	return nil
}

func checkRouteIPv6(args []string) error {
	for i, a := range args {
		var err error
		switch i {
		case 0, 1:
			if !prefixRE.MatchString(a) && a != "vpn_gateway" && a != "net_gateway" {
				err = fmt.Errorf("%q is not an IPv6 prefix or address", clip(a))
			}
		default:
			err = either(oneOf("default"), number)(a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var dhcpOptionTypes = []string{
	"DNS", "DNS6", "DOMAIN", "DOMAIN-SEARCH", "ADAPTER_DOMAIN_SUFFIX",
	"WINS", "NBDD", "NTP", "NBT", "NBS", "DISABLE-NBT",
}

func checkDHCPOption(args []string) error {
	if err := oneOf(dhcpOptionTypes...)(args[0]); err != nil {
		return err
	}
	for _, a := range args[1:] {
		if err := word(a); err != nil {
			return err
		}
	}
	return nil
}

// checkCompress allows only the framing-only forms: compressing data
// before encryption leaks plaintext through packet sizes (VORACLE).
func checkCompress(args []string) error {
	if len(args) == 0 || args[0] == "stub" || args[0] == "stub-v2" {
		return nil
	}
	return fmt.Errorf("compression %q is refused (VORACLE); use \"compress stub-v2\" or remove the line", clip(args[0]))
}

func checkCompLZO(args []string) error {
	if len(args) == 1 && args[0] == "no" {
		return nil
	}
	return fmt.Errorf("LZO compression is refused (VORACLE); use \"comp-lzo no\" or remove the line")
}

func checkSetenv(args []string) error {
	name := args[0]
	switch {
	case name == "CLIENT_CERT":
		if len(args) != 2 || (args[1] != "0" && args[1] != "1") {
			return fmt.Errorf("setenv CLIENT_CERT takes 0 or 1")
		}
		return nil
	case name == "PUSH_PEER_INFO":
		return nil
	case name == "IV_GUI_VER" || uvRE.MatchString(name):
		if len(args) != 2 {
			return fmt.Errorf("setenv %s takes one value", name)
		}
		return nil
	}
	return fmt.Errorf("only CLIENT_CERT, PUSH_PEER_INFO, IV_GUI_VER and UV_* may be set; other variables feed scripts")
}

func checkVerifyX509(args []string) error {
	if len(args) == 2 {
		return oneOf("subject", "name", "name-prefix")(args[1])
	}
	return nil
}

func checkTLSVersion(args []string) error {
	if err := oneOf("1.0", "1.1", "1.2", "1.3")(args[0]); err != nil {
		return err
	}
	if len(args) == 2 {
		return oneOf("or-highest")(args[1])
	}
	return nil
}

func checkMssfix(args []string) error {
	if len(args) > 0 {
		if err := number(args[0]); err != nil {
			return err
		}
	}
	if len(args) > 1 {
		return oneOf("mtu", "fixed")(args[1])
	}
	return nil
}

func errNotHex(s string) error {
	return fmt.Errorf("%q is not a hexadecimal value", clip(s))
}

// checkVerb caps verbosity at 6: from 7 on openvpn logs key material and
// packet contents, and its log is shown through the API.
func checkVerb(args []string) error {
	if err := number(args[0]); err != nil {
		return err
	}
	if n, _ := strconv.Atoi(args[0]); n > 6 {
		return fmt.Errorf("verbosity above 6 logs key material and packet contents")
	}
	return nil
}

var dnsValueRE = regexp.MustCompile(`^[A-Za-z0-9_.:\[\]-]{1,253}$`)

// checkDNS accepts the documented forms of the dns option:
// "search-domains D..." and "server N address|resolve-domains|dnssec|
// transport|sni V...".
func checkDNS(args []string) error {
	values := args[1:]
	switch args[0] {
	case "search-domains":
	case "server":
		if len(args) < 4 {
			return fmt.Errorf("dns server needs an id, a setting and a value")
		}
		id := strings.TrimPrefix(args[1], "-")
		if len(id) > 3 || number(id) != nil {
			return fmt.Errorf("%q is not a DNS server id", clip(args[1]))
		}
		if err := oneOf("address", "resolve-domains", "dnssec", "transport", "sni")(args[2]); err != nil {
			return err
		}
		values = args[3:]
	default:
		return fmt.Errorf("%q is not one of search-domains, server", clip(args[0]))
	}
	for _, v := range values {
		if !dnsValueRE.MatchString(v) {
			return fmt.Errorf("%q is not a DNS name or address", clip(v))
		}
	}
	return nil
}
