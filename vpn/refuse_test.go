package vpn

import (
	"strings"
	"testing"
)

// TestParseRefuses checks that each line is refused inside an otherwise
// valid profile, on its own line number, with a reason mentioning want.
func TestParseRefuses(t *testing.T) {
	tests := []struct {
		line, directive, want string
	}{
		// Programs and code.
		{"up /etc/openvpn/update-resolv-conf", "up", "program"},
		{"down /bin/sh", "down", "program"},
		{"down-pre", "down-pre", "program"},
		{"up-restart", "up-restart", "program"},
		{"route-up '/bin/sh -c id'", "route-up", "program"},
		{"route-pre-down x", "route-pre-down", "program"},
		{"ipchange x", "ipchange", "program"},
		{"learn-address x", "learn-address", "program"},
		{"client-connect x", "client-connect", "program"},
		{"client-disconnect x", "client-disconnect", "program"},
		{"tls-verify x", "tls-verify", "program"},
		{"auth-user-pass-verify x via-file", "auth-user-pass-verify", "program"},
		{"iproute /bin/sh", "iproute", "program"},
		{"dns-updown /bin/sh", "dns-updown", "program"},
		{"script-security 2", "script-security", "script"},
		{"script-security 1", "script-security", "script"},
		{"setenv-safe X y", "setenv-safe", "script"},
		{"plugin /usr/lib/openvpn/plugins/openvpn-plugin-down-root.so /bin/sh", "plugin", "code"},
		{"engine dynamic", "engine", "code"},
		{"providers legacy default", "providers", "code"},
		{"pkcs11-providers /usr/lib/p11.so", "pkcs11-providers", "code"},
		// Files and the process.
		{"config other.ovpn", "config", "file"},
		{"cd /etc/openvpn", "cd", "file"},
		{"chroot /tmp", "chroot", "file"},
		{"tmp-dir /tmp", "tmp-dir", "file"},
		{"dev-node /dev/net/tun", "dev-node", "file"},
		{"log /tmp/x", "log", "file"},
		{"log-append /tmp/x", "log-append", "file"},
		{"status /tmp/status 10", "status", "file"},
		{"writepid /tmp/pid", "writepid", "file"},
		{"replay-persist /tmp/x", "replay-persist", "file"},
		{"tls-export-cert /tmp", "tls-export-cert", "file"},
		{"capath /etc/ssl", "capath", "file"},
		{"daemon", "daemon", "process"},
		{"syslog", "syslog", "process"},
		{"user nobody", "user", "process"},
		{"group nogroup", "group", "process"},
		{"echo hello", "echo", "process"},
		{"machine-readable-output", "machine-readable-output", "process"},
		// Key material given as a path.
		{"ca ca.crt", "ca", "inline"},
		{"cert /etc/openvpn/client.crt", "cert", "inline"},
		{"key client.key", "key", "inline"},
		{"tls-auth ta.key 1", "tls-auth", "inline"},
		{"tls-crypt tc.key", "tls-crypt", "inline"},
		{"tls-crypt-v2 v2.key", "tls-crypt-v2", "inline"},
		{"extra-certs chain.pem", "extra-certs", "inline"},
		{"pkcs12 client.p12", "pkcs12", "inline"},
		{"crl-verify crl.pem", "crl-verify", "inline"},
		{"crl-verify /etc/crl dir", "crl-verify", "inline"},
		{"dh dh.pem", "dh", "inline"},
		{"ca", "ca", "inline"},
		{"secret static.key", "secret", "static-key"},
		{"auth-user-pass creds.txt", "auth-user-pass", "username and password"},
		{"askpass pass.txt", "askpass", "askpass"},
		{"http-proxy-user-pass creds", "http-proxy-user-pass", "file"},
		// Control plane and network side effects.
		{"management 0.0.0.0 7505", "management", "management"},
		{"management-client", "management-client", "management"},
		{"management-hold", "management-hold", "management"},
		{"management-external-key", "management-external-key", "management"},
		{"ignore-unknown-option up", "ignore-unknown-option", "skip"},
		{"setenv opt up /bin/sh", "up", "program"},
		{"setenv opt", "setenv", "needs a directive"},
		{"setenv PATH /tmp", "setenv", "only"},
		{"http-proxy 127.0.0.1 8080", "http-proxy", "prox"},
		{"socks-proxy 127.0.0.1 1080", "socks-proxy", "prox"},
		{"static-challenge \"OTP\" 1", "static-challenge", "challenge"},
		{"ifconfig 10.8.0.2 255.255.255.0", "ifconfig", "server"},
		{"ifconfig-ipv6 fd00::2/64 fd00::1", "ifconfig-ipv6", "server"},
		{"ns-cert-type client", "ns-cert-type", "not one of"},
		{"local 192.0.2.1", "local", "not supported"},
		// Server side.
		{"server 10.8.0.0 255.255.255.0", "server", "server-side"},
		{"tls-server", "tls-server", "server-side"},
		{"push \"route 10.0.0.0\"", "push", "server-side"},
		{"mode server", "mode", "server-side"},
		// Unknown, misspelled or case-changed options.
		{"UP /bin/sh", "UP", "not in the list"},
		{"frobnicate", "frobnicate", "not in the list"},
		{"<connection>", "<connection>", "connection"},
		{"<auth-user-pass>", "<auth-user-pass>", "separately"},
		{"<secret>", "<secret>", "static-key"},
		{"<dh>", "<dh>", "server-side"},
		{"<script>", "<script>", "not a supported inline block"},
		// Allowed options with bad arguments.
		{"dev tap", "dev", "tun"},
		{"dev null", "dev", "tun"},
		{"dev-type tap", "dev-type", "not one of"},
		{"proto tcp-server", "proto", "not one of"},
		{"remote a 99999", "remote", "out of range"},
		{"remote a 1194 sctp", "remote", "not one of"},
		{"remote /etc/passwd", "remote", "not a host"},
		{"remote a 1 udp extra", "remote", "at most 3"},
		{"port abc", "port", "not a number"},
		{"client now", "client", "takes no arguments"},
		{"keepalive 10", "keepalive", "at least 2"},
		{"verb 7", "verb", "key material"},
		{"verb x", "verb", "not a number"},
		{"comp-lzo", "comp-lzo", "VORACLE"},
		{"comp-lzo yes", "comp-lzo", "VORACLE"},
		{"comp-lzo adaptive", "comp-lzo", "VORACLE"},
		{"compress lz4-v2", "compress", "VORACLE"},
		{"compress lzo", "compress", "VORACLE"},
		{"allow-compression yes", "allow-compression", "not one of"},
		{"tls-cert-profile insecure", "tls-cert-profile", "not one of"},
		{"cipher 'AES 256'", "cipher", "not allowed"},
		{"route 10.0.0.0 255.0.0.0 /bin/sh", "route", "not a host"},
		{"dhcp-option PROXY_HTTP x", "dhcp-option", "not one of"},
		{"pull-filter allow route", "pull-filter", "not one of"},
		{"redirect-gateway everything", "redirect-gateway", "not one of"},
		{"key-direction 2", "key-direction", "not one of"},
		{"remote-cert-tls client", "remote-cert-tls", "not one of"},
		{"verify-x509-name x dns", "verify-x509-name", "not one of"},
		{"setenv CLIENT_CERT 2", "setenv", "CLIENT_CERT"},
		{"dns updown /bin/sh", "dns", "not one of"},
		{"dns server 1 script /bin/sh", "dns", "not one of"},
		{"dns server x address 10.0.0.1", "dns", "server id"},
		{"dns search-domains a/b", "dns", "not a DNS name"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			in := "client\ndev tun\nremote vpn.example.net\n" + tt.line + "\nauth-user-pass\n<ca>\nAAAA\n</ca>\n"
			de := refusedWith(t, in)
			if de.Line != 4 || de.Directive != tt.directive {
				t.Errorf("got line %d directive %q, want line 4 directive %q (%v)", de.Line, de.Directive, tt.directive, de)
			}
			if !strings.Contains(de.Reason, tt.want) {
				t.Errorf("reason %q does not mention %q", de.Reason, tt.want)
			}
		})
	}
}

// TestParseAllowsClientOptions checks a spread of allowed options with
// their argument forms.
func TestParseAllowsClientOptions(t *testing.T) {
	for _, line := range allowedSamples {
		in := "client\ndev tun\nremote vpn.example.net\n" + line + "\nauth-user-pass\n<ca>\nAAAA\n</ca>\n"
		if _, err := Parse([]byte(in)); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
}

// allowedSamples are allowed directives with their argument forms.
var allowedSamples = []string{
	"dev tun0", "dev-type tun", "topology subnet", "proto tcp-client", "proto udp6",
	"remote 2001:db8::1 1194 udp6", "remote-random-hostname", "port 443", "rport 1194", "lport 1194",
	"resolv-retry 60", "connect-retry 5 300", "connect-retry-max 3", "server-poll-timeout 10",
	"hand-window 30", "reneg-sec 0", "float", "persist-remote-ip",
	"remote-cert-ku a0 88", "remote-cert-eku serverAuth", "remote-cert-eku \"TLS Web Server Authentication\"",
	"verify-x509-name vpn.example.net name", "tls-version-min 1.2 or-highest", "tls-version-max 1.3",
	"tls-cipher TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384:@SECLEVEL=2",
	"tls-ciphersuites TLS_AES_256_GCM_SHA384", "ecdh-curve secp384r1", "tls-groups X25519:P-256",
	"data-ciphers-fallback AES-256-CBC", "ncp-ciphers AES-256-GCM", "auth SHA512",
	"comp-lzo no", "compress", "compress stub", "allow-compression asym",
	"auth-retry nointeract", "push-peer-info", "setenv CLIENT_CERT 0", "setenv UV_PLAN gold",
	"setenv IV_GUI_VER \"Example 1.0\"", "tun-mtu 1500", "mssfix", "mssfix 1400 mtu", "fragment 1300",
	"sndbuf 393216", "keepalive 10 120", "ping 10", "ping-restart 60", "inactive 3600",
	"route 10.0.0.0 255.0.0.0 vpn_gateway 5", "route intranet.example.net", "route-gateway dhcp",
	"route-metric 10", "route-delay 2", "route-nopull", "route-noexec", "ifconfig-noexec",
	"redirect-gateway", "redirect-gateway def1 !ipv4 ipv6", "redirect-private local", "block-ipv6",
	"dhcp-option DOMAIN corp.example", "dhcp-option DISABLE-NBT", "dns server 1 address 10.8.0.1 [fd00::1]:53", "dns server -2 address 10.0.0.53", "dns search-domains corp.example lab.example",
	"pull-filter reject \"redirect-gateway\"", "verb 6", "mute 10", "mute-replay-warnings",
	"replay-window 128 30", "disable-dco", "explicit-exit-notify", "tun-ipv6", "allow-pull-fqdn",
	"peer-fingerprint AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB", "tls-timeout 2", "ns-cert-type server", "ping-timer-rem", "disable-occ", "setenv PUSH_PEER_INFO", "reneg-bytes 100000", "auth-nocache",
}
