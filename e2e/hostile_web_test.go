//go:build e2e && linux

package e2e

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestHostileHost sends Host headers a DNS-rebinding page would produce
// and proves that every one is refused with 421 misdirected_request, on
// public and authenticated routes alike and even with the right token,
// while the daemon's own loopback names with its port are served.
func TestHostileHost(t *testing.T) {
	bin := binDir(t)
	d := startDaemon(t, bin, t.TempDir())
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	bad := []string{
		"evil.example", "evil.example:" + port, "127.0.0.1.nip.io", "127.0.0.1.nip.io:" + port,
		"localhost.evil.example:" + port, "127.0.0.1:" + port + ".evil.example", "127.0.0.1", "localhost",
		"127.0.0.1:1", "localhost.:" + port, "0.0.0.0:" + port, "[::ffff:127.0.0.1]:" + port, "2130706433:" + port, "",
	}
	refused := 0
	for _, h := range bad {
		for _, target := range []string{"/v1/health", "/v1/vms", "/console"} {
			a := d.do(t, rawRequest{Method: "GET", Target: target, Host: &h, Header: []string{d.authed()}})
			if p := problemOf(t, fmt.Sprintf("Host %q, GET %s", h, target), a, 421); p.Code == "misdirected_request" {
				refused++
			}
		}
	}
	// An absolute request target names the host too, whatever the Host
	// header says.
	a := d.do(t, rawRequest{Method: "GET", Target: "http://evil.example/v1/vms", Header: []string{d.authed()}})
	if p := problemOf(t, "absolute target http://evil.example", a, 421); p.Code == "misdirected_request" {
		refused++
	}
	good := []string{"127.0.0.1:" + port, "localhost:" + port, "LocalHost:" + port, "[::1]:" + port}
	for _, h := range good {
		if a := d.do(t, rawRequest{Method: "GET", Target: "/v1/vms", Host: &h, Header: []string{d.authed()}}); a.Status != 200 {
			t.Errorf("Host %q: %d %s", h, a.Status, a.Body)
		}
	}
	observe(t, "%d requests with %d rebinding Host headers and an absolute target: %d refused with 421 misdirected_request; %d loopback names with the port served",
		len(bad)*3+1, len(bad), refused, len(good))
}

// TestHostileWebsocket opens the shell websocket of a running guest with a
// valid token but a cross-site Origin or Sec-Fetch-Site and proves each
// attempt is refused with 403 forbidden_origin before the upgrade: no 101,
// and no process starts in the guest. The same request without those
// headers, or from the daemon's own origin, upgrades.
func TestHostileWebsocket(t *testing.T) {
	bin := binDir(t)
	dataDir := t.TempDir()
	d := startDaemon(t, bin, dataDir)
	c := newClient(t, d)
	const name = "e2e-ws"
	if _, err := c.CreateVM(testContext(t), name, "linux"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartVM(testContext(t), name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	upgrade := func(extra ...string) rawRequest {
		return rawRequest{Method: "GET", Target: "/v1/vms/" + name + "/shell?argv=sleep&argv=30",
			Header: append([]string{d.authed(), "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol: microvm.shell.v1"}, extra...)}
	}
	hostile := [][]string{
		{"Origin: http://evil.example"},
		{"Origin: null"},
		{"Origin: http://localhost.evil.example:" + port},
		{"Origin: http://127.0.0.1:" + port + ".evil.example"},
		{"Origin: http://127.0.0.1:1"},
		{"Origin: https://127.0.0.1:" + port},
		{"Origin: http://127.0.0.1:" + port, "Origin: http://evil.example"},
		{"Sec-Fetch-Site: cross-site"},
		{"Sec-Fetch-Site: same-site"},
		{"Origin: http://127.0.0.1:" + port, "Sec-Fetch-Site: cross-site"},
	}
	vmDir := filepath.Join(dataDir, "vms", name)
	procsBefore := len(guestPIDs(guestMountNS(t, vmDir)))
	for _, h := range hostile {
		a := d.do(t, upgrade(h...))
		if p := problemOf(t, fmt.Sprintf("shell with %q", h), a, 403); p.Code != "forbidden_origin" {
			t.Errorf("shell with %q: code %q, want forbidden_origin", h, p.Code)
		}
		if a.Header.Get("Upgrade") != "" || a.Header.Get("Sec-WebSocket-Accept") != "" {
			t.Errorf("shell with %q: refusal carries upgrade headers: %v", h, a.Header)
		}
	}
	if n := len(guestPIDs(guestMountNS(t, vmDir))); n != procsBefore {
		t.Errorf("%d processes in the guest after the refused upgrades, %d before", n, procsBefore)
	}
	// The same upgrade without a browser's headers, or from our own
	// origin, is accepted: the refusals above are about the origin.
	for _, h := range [][]string{nil, {"Origin: http://127.0.0.1:" + port}, {"Origin: http://localhost:" + port, "Sec-Fetch-Site: same-origin"}} {
		if a := d.do(t, upgrade(h...)); a.Status != 101 {
			t.Errorf("shell with %q: %d %s, want 101", h, a.Status, a.Body)
		}
	}
	observe(t, "%d cross-site shell upgrades with a valid token refused with 403 forbidden_origin before the upgrade (guest processes %d before and after); 3 same-origin or header-less upgrades accepted",
		len(hostile), procsBefore)
}

// TestHostileToken proves the secrets on disk are private (the token and
// every credential file 0600, nothing group- or world-writable, the data
// dir it creates closed to others) and that every wrong, missing or malformed token
// gets 401 unauthorized with a Bearer challenge, on the API and the shell.
func TestHostileToken(t *testing.T) {
	bin := binDir(t)
	dataDir := filepath.Join(t.TempDir(), "data") // the daemon creates it
	d := startDaemon(t, bin, dataDir)
	pass := "hunter2"
	if code, body := d.curl("POST", "/v1/vpn/profiles", `{"name":"secret","config":`+jsonString(testProfile)+`,"username":"u","password":"`+pass+`"}`); code != 201 {
		t.Fatalf("create profile: %d %s", code, body)
	}

	info, err := os.Stat(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		t.Errorf("data dir is %v: open to others", info.Mode().Perm())
	}
	secrets := 0
	err = filepath.WalkDir(dataDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
			t.Errorf("%s belongs to uid %d, not the daemon's user", path, st.Uid)
		}
		if fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s is %v: writable by others", path, fi.Mode().Perm())
		}
		rel, _ := filepath.Rel(dataDir, path)
		if e.Name() == "token" || strings.HasPrefix(rel, filepath.Join("vpn", "credentials")+"/") {
			secrets++
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s is %v, want 0600", rel, fi.Mode().Perm())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if secrets < 3 { // the daemon's token, the default VM's, one credential
		t.Errorf("found %d secret files: the checks above proved little", secrets)
	}

	wrong := []string{
		"", "Authorization:", "Authorization: Bearer", "Authorization: Bearer ", "Authorization: Bearer x",
		"Authorization: Bearer " + d.Token[:len(d.Token)-1], "Authorization: Bearer " + d.Token + "x",
		"Authorization: Bearer " + strings.ToUpper(d.Token), "Authorization: Basic " + d.Token,
		"Authorization: " + d.Token, "Authorization: Bearer " + d.Token[:8] + " " + d.Token[8:], "Authorization: Bearer\t" + d.Token,
	}
	refused := 0
	for _, h := range wrong {
		for _, r := range []rawRequest{
			{Method: "GET", Target: "/v1/vms", Header: []string{h}},
			{Method: "GET", Target: "/v1/vpn/profiles/secret?access_token=" + d.Token, Header: []string{h}},
			{Method: "GET", Target: "/v1/vms/default/shell", Header: []string{h, "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol: microvm.shell.v1"}},
		} {
			a := d.do(t, r)
			what := fmt.Sprintf("%s with %q", r.Target, h)
			if p := problemOf(t, what, a, 401); p.Code == "unauthorized" && a.Header.Get("WWW-Authenticate") == "Bearer" {
				refused++
			} else if p.Code != "" {
				t.Errorf("%s: code %q, WWW-Authenticate %q", what, p.Code, a.Header.Get("WWW-Authenticate"))
			}
			if strings.Contains(string(a.Body), pass) || strings.Contains(string(a.Body), d.Token) {
				t.Errorf("%s: the answer leaks a secret: %s", what, a.Body)
			}
		}
	}
	for _, h := range []string{"Authorization: Bearer " + d.Token, "Authorization: bearer " + d.Token} {
		if a := d.do(t, rawRequest{Method: "GET", Target: "/v1/vms", Header: []string{h}}); a.Status != 200 {
			t.Errorf("%q: %d %s", h, a.Status, a.Body)
		}
	}
	observe(t, "data dir %v, %d secret files all 0600; %d requests with %d wrong, missing or malformed tokens: %d refused with 401 and a Bearer challenge",
		info.Mode().Perm(), secrets, len(wrong)*3, len(wrong), refused)
}
