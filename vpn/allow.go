package vpn

import (
	"fmt"
	"strings"
)

// spec describes an allowed directive: how many arguments it takes and how
// they are checked. A dropped directive is accepted but left out of the
// rendering because it means nothing for a Linux client.
type spec struct {
	min, max int
	check    argCheck
	drop     bool
}

func noArgs() spec                        { return spec{} }
func args(lo, hi int, c argCheck) spec    { return spec{min: lo, max: hi, check: c} }
func nums(lo, hi int) spec                { return args(lo, hi, each(number)) }
func words(lo, hi int) spec               { return args(lo, hi, each(word)) }
func enum(values ...string) spec          { return args(1, 1, each(oneOf(values...))) }
func dropped(lo, hi int, c argCheck) spec { return spec{min: lo, max: hi, check: c, drop: true} }

// allowed is the allowlist of client options. Nothing here runs a
// program, loads code, names a host file, or touches the management
// interface; arguments are checked so that none can smuggle a path in.
//
// Decisions worth knowing:
//   - route, route-ipv6, redirect-gateway and dhcp-option are kept: openvpn
//     runs with --route-noexec in the guest and the agent applies routes and
//     DNS inside the tunnel namespace only, where the default route is the
//     tunnel anyway, so they cannot change the host's or guest's routing.
//   - compression is refused except the framing-only forms (comp-lzo no,
//     compress, compress stub, compress stub-v2), because of VORACLE.
//   - Windows-only options (block-outside-dns, register-dns, ...) are
//     accepted but dropped: openvpn on Linux refuses most of them.
//   - ifconfig is refused: addresses come from the server (pull).
//   - verb is capped at 6, since higher levels log keys and packet contents.
//   - setenv only sets CLIENT_CERT, IV_GUI_VER and UV_* (sent to the server
//     with push-peer-info); "setenv opt X" is checked and rendered as X.
var allowed = map[string]spec{
	// Role and transport.
	"client":     noArgs(),
	"tls-client": noArgs(),
	"pull":       noArgs(),
	"nobind":     noArgs(),
	"float":      noArgs(),
	"dev":        args(1, 1, checkDev),
	"dev-type":   enum("tun"),
	"topology":   enum("subnet", "net30", "p2p"),
	"proto":      args(1, 1, each(proto)),
	"remote":     args(1, 3, checkRemote),
	"port":       args(1, 1, each(port)),
	"rport":      args(1, 1, each(port)),
	"lport":      args(1, 1, each(port)),

	"remote-random":          noArgs(),
	"remote-random-hostname": noArgs(),
	"resolv-retry":           args(1, 1, each(either(oneOf("infinite"), number))),
	"connect-retry":          nums(1, 2),
	"connect-retry-max":      nums(1, 1),
	"connect-timeout":        nums(1, 1),
	"server-poll-timeout":    nums(1, 1),
	"explicit-exit-notify":   nums(0, 1),
	"persist-key":            noArgs(),
	"persist-tun":            noArgs(),
	"persist-remote-ip":      noArgs(),
	"persist-local-ip":       noArgs(),

	// TLS and data channel.
	"remote-cert-tls":       enum("server"),
	"ns-cert-type":          enum("server"), // deprecated, still read by 2.6
	"remote-cert-ku":        args(1, 8, each(hexWord)),
	"remote-cert-eku":       args(1, 1, each(text)),
	"verify-x509-name":      args(1, 2, checkVerifyX509),
	"peer-fingerprint":      args(1, 1, each(sha256Fingerprint)),
	"tls-version-min":       args(1, 2, checkTLSVersion),
	"tls-version-max":       args(1, 1, each(oneOf("1.0", "1.1", "1.2", "1.3"))),
	"tls-cert-profile":      enum("legacy", "preferred", "suiteb"),
	"tls-cipher":            words(1, 1),
	"tls-ciphersuites":      words(1, 1),
	"tls-groups":            words(1, 1),
	"ecdh-curve":            words(1, 1),
	"tls-timeout":           nums(1, 1),
	"hand-window":           nums(1, 1),
	"tran-window":           nums(1, 1),
	"reneg-sec":             nums(1, 2),
	"reneg-bytes":           nums(1, 1),
	"reneg-pkts":            nums(1, 1),
	"key-direction":         enum("0", "1"),
	"cipher":                words(1, 1),
	"data-ciphers":          words(1, 1),
	"data-ciphers-fallback": words(1, 1),
	"ncp-ciphers":           words(1, 1),
	"auth":                  words(1, 1),
	"replay-window":         nums(1, 2),
	"mute-replay-warnings":  noArgs(),
	"disable-dco":           noArgs(),
	"allow-compression":     enum("no", "asym"),
	"comp-lzo":              args(0, 1, checkCompLZO),
	"compress":              args(0, 1, checkCompress),

	// Authentication: credentials come from the store, never a file.
	"auth-user-pass": noArgs(),
	"auth-nocache":   noArgs(),
	"auth-retry":     enum("none", "nointeract", "interact"),
	"push-peer-info": noArgs(),
	"setenv":         args(1, 2, checkSetenv),

	// Link and timers.
	"tun-mtu":        nums(1, 1),
	"tun-mtu-extra":  nums(1, 1),
	"link-mtu":       nums(1, 1),
	"mssfix":         args(0, 2, checkMssfix),
	"fragment":       args(1, 2, each(number, oneOf("mtu"))),
	"sndbuf":         nums(1, 1),
	"rcvbuf":         nums(1, 1),
	"txqueuelen":     nums(1, 1),
	"fast-io":        noArgs(),
	"keepalive":      nums(2, 2),
	"ping":           nums(1, 1),
	"ping-restart":   nums(1, 1),
	"ping-exit":      nums(1, 1),
	"ping-timer-rem": noArgs(),
	"disable-occ":    noArgs(),
	"inactive":       nums(1, 2),

	// Routes and DNS, applied inside the tunnel namespace only.
	"route":           args(1, 4, checkRoute),
	"route-ipv6":      args(1, 3, checkRouteIPv6),
	"route-gateway":   args(1, 1, each(either(oneOf("dhcp"), ipAddr))),
	"route-metric":    nums(1, 1),
	"route-delay":     nums(0, 2),
	"route-nopull":    noArgs(),
	"route-noexec":    noArgs(),
	"ifconfig-noexec": noArgs(),
	"allow-pull-fqdn": noArgs(),
	"redirect-gateway": args(0, 8, each(oneOf(
		"local", "autolocal", "def1", "bypass-dhcp", "bypass-dns", "block-local",
		"ipv4", "!ipv4", "ipv6", "!ipv6"))),
	"redirect-private": args(0, 8, each(oneOf(
		"local", "autolocal", "def1", "bypass-dhcp", "bypass-dns", "block-local"))),
	"block-ipv6":  noArgs(),
	"dhcp-option": args(1, 2, checkDHCPOption),
	"dns":         args(2, 12, checkDNS),
	"pull-filter": args(2, 2, each(oneOf("accept", "ignore", "reject"), text)),
	// Windows-only options that openvpn on Linux refuses or ignores.
	"block-outside-dns": dropped(0, 0, nil),
	"register-dns":      dropped(0, 0, nil),
	"dhcp-renew":        dropped(0, 0, nil),
	"dhcp-release":      dropped(0, 0, nil),
	"ip-win32":          dropped(1, 3, each(word)),
	"route-method":      dropped(1, 1, each(word)),
	"windows-driver":    dropped(1, 1, each(word)),

	// Logging verbosity only; log destinations are refused.
	"verb":     args(1, 1, checkVerb),
	"mute":     nums(1, 1),
	"tun-ipv6": noArgs(),
}

func hexWord(s string) error {
	if !hexRE.MatchString(s) {
		return errNotHex(s)
	}
	return nil
}

// sha256Fingerprint accepts 32 colon-separated hex bytes.
func sha256Fingerprint(s string) error {
	if len(s) != 32*3-1 || !hexRE.MatchString(s) || strings.Count(s, ":") != 31 {
		return fmt.Errorf("%q is not a SHA-256 fingerprint (32 hex bytes separated by colons)", clip(s))
	}
	return nil
}

// inlineTags are the inline blocks that may carry key material.
var inlineTags = map[string]bool{
	"ca": true, "cert": true, "key": true, "extra-certs": true, "pkcs12": true,
	"tls-auth": true, "tls-crypt": true, "tls-crypt-v2": true,
	"crl-verify": true, "peer-fingerprint": true,
}

// refusedTags explains inline blocks we do not take.
var refusedTags = map[string]string{
	"auth-user-pass":        "credentials are not accepted inside the profile; give username and password separately",
	"http-proxy-user-pass":  "proxies are not supported",
	"secret":                "static-key mode is deprecated and insecure; use a TLS profile",
	"dh":                    "server-side option",
	"auth-gen-token-secret": "server-side option",
	"connection":            "connection blocks are not supported; use several remote lines",
}

// tagOf returns the block tag of a line holding a single "<tag>" token.
func tagOf(tokens []string) (string, bool) {
	if len(tokens) != 1 {
		return "", false
	}
	t := tokens[0]
	if len(t) >= 2 && t[0] == '<' && t[len(t)-1] == '>' {
		return t[1 : len(t)-1], true
	}
	return "", false
}

// stripDashes drops the "--" OpenVPN allows before an option name.
func stripDashes(name string) string { return strings.TrimPrefix(name, "--") }
