//go:build linux

package vpnlab

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// checkScript is the server's auth-user-pass-verify hook. It logs every
// attempt and compares the two lines of the file OpenVPN hands it with the
// expected credentials. The server is ours, so a script is fine here.
const checkScript = `#!/bin/sh
dir=$(dirname "$0")
{ IFS= read -r u; IFS= read -r p; } < "$1"
{ IFS= read -r eu; IFS= read -r ep; } < "$dir/expected"
echo "$u" >> "$dir/attempts"
[ "$u" = "$eu" ] && [ "$p" = "$ep" ]
`

func (l *Lab) writeServerFiles() error {
	key := filepath.Join(l.dir, "tc.key")
	if out, err := exec.Command("openvpn", "--genkey", "tls-crypt", key).CombinedOutput(); err != nil {
		return fmt.Errorf("openvpn --genkey tls-crypt: %w: %s", err, out)
	}
	files := map[string]string{
		"ca.crt":      string(l.pki.caCert),
		"server.crt":  string(l.pki.serverCert),
		"server.key":  string(l.pki.serverKey),
		"expected":    l.Username + "\n" + l.Password + "\n",
		"check.sh":    checkScript,
		"server.conf": l.serverConfig(),
	}
	for name, body := range files {
		mode := os.FileMode(0o600)
		if name == "check.sh" {
			mode = 0o700
		}
		if err := os.WriteFile(filepath.Join(l.dir, name), []byte(body), mode); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

func (l *Lab) serverConfig() string {
	proto := "udp"
	if l.opts.Proto == "tcp" {
		proto = "tcp-server"
	}
	lines := []string{
		"dev tun",
		"proto " + proto,
		"port 1194",
		"topology subnet",
		"server " + poolPrefix.Addr().String() + " 255.255.255.0",
		"push \"route " + remotePrefix.Addr().String() + " 255.255.255.0\"",
		"push \"dhcp-option DNS " + serverInside.String() + "\"",
		fmt.Sprintf("keepalive 1 %d", l.opts.PingRestart),
		"ca ca.crt",
		"cert server.crt",
		"key server.key",
		"dh none",
		"tls-crypt tc.key",
		"verify-client-cert none",
		"username-as-common-name",
		"duplicate-cn",
		"script-security 2",
		"auth-user-pass-verify check.sh via-file",
		"tmp-dir " + l.dir,
		"verb 3",
	}
	if !l.opts.NoIPv6 {
		lines = append(lines, "server-ipv6 "+pool6Prefix.String())
	}
	return strings.Join(lines, "\n") + "\n"
}

// clientConfig is a typical provider profile: username and password, the
// CA and tls-crypt key inline.
func (l *Lab) clientConfig(server netip.AddrPort) string {
	proto := "udp"
	if l.opts.Proto == "tcp" {
		proto = "tcp-client"
	}
	tc, _ := os.ReadFile(filepath.Join(l.dir, "tc.key"))
	return strings.Join([]string{
		"client",
		"dev tun",
		"proto " + proto,
		fmt.Sprintf("remote %s %d", server.Addr(), server.Port()),
		"nobind",
		"remote-cert-tls server",
		"auth-user-pass",
		"verb 3",
		"<ca>", strings.TrimSpace(string(l.pki.caCert)), "</ca>",
		"<tls-crypt>", strings.TrimSpace(string(tc)), "</tls-crypt>",
	}, "\n") + "\n"
}

func (l *Lab) startServer() error {
	p, err := startProc(l.t, "openvpn-server", l.ServerNS, "Initialization Sequence Completed",
		"openvpn", "--cd", l.dir, "--config", "server.conf")
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.server = p
	l.mu.Unlock()
	return nil
}

// StopServer stops the OpenVPN server, as in an outage. Clients notice
// through their ping-restart timer (UDP) or the closed connection (TCP).
func (l *Lab) StopServer() {
	l.mu.Lock()
	p := l.server
	l.server = nil
	l.mu.Unlock()
	if p != nil {
		p.stop()
	}
}

// StartServer starts the OpenVPN server again after StopServer and returns
// once it accepts clients.
func (l *Lab) StartServer() {
	l.t.Helper()
	l.mu.Lock()
	running := l.server != nil
	l.mu.Unlock()
	if running {
		return
	}
	if err := l.startServer(); err != nil {
		l.t.Fatalf("vpnlab: %v", err)
	}
}
