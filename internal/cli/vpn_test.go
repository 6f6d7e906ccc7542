package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
)

// testProfile writes a minimal client profile with an inline CA, plus
// extra directives first, and returns its path.
func testProfile(t *testing.T, extra string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Test VPN CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	config := extra + "client\ndev tun\nproto udp\nremote vpn.example.com 1194\nauth-user-pass\n<ca>\n" + string(ca) + "</ca>\n"
	path := filepath.Join(t.TempDir(), "test.ovpn")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestProfileCommands(t *testing.T) {
	d := startDaemon(t)
	good := testProfile(t, "")
	const password = "hunter2-secret"
	check(t, d.cli(t, password+"\n", "vpn", "profile", "add", "work", good, "--username", "alice", "--password-stdin"),
		0, "profile work stored (vpn.example.com:1194/udp)", "")
	check(t, d.cli(t, "", "vpn", "profile", "add", "work", good), 1, "", "(already_exists)")
	r := d.cli(t, "", "vpn", "profile", "add", "home", good)
	check(t, r, 0, "note: the server asks for a username and password", "")

	r = d.cli(t, "", "vpn", "profile", "ls")
	check(t, r, 0, "NAME", "")
	if !strings.Contains(r.stdout, "work  vpn.example.com:1194/udp  password (stored)") ||
		!strings.Contains(r.stdout, "home  vpn.example.com:1194/udp  password (missing)") {
		t.Errorf("ls:\n%s", r.stdout)
	}
	check(t, d.cli(t, "", "vpn", "profile", "ls", "--names"), 0, "home\nwork\n", "")
	r = d.cli(t, "", "vpn", "profile", "show", "work")
	check(t, r, 0, "Password stored:", "")
	if !strings.Contains(r.stdout, "CA:") || !strings.Contains(r.stdout, "CN=Test VPN CA") {
		t.Errorf("show:\n%s", r.stdout)
	}
	r = d.cli(t, "", "vpn", "profile", "show", "work", "--json")
	var p api.VPNProfile
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || !p.HasPassword || !p.HasUsername {
		t.Fatalf("show --json: %v\n%v", err, r)
	}
	if strings.Contains(r.stdout, password) {
		t.Fatal("show printed the password")
	}

	// --replace keeps the credentials; a profile from stdin works too.
	cfg, _ := os.ReadFile(good)
	check(t, d.cli(t, string(cfg), "vpn", "profile", "add", "work", "-", "--replace"), 0, "profile work stored", "")
	check(t, d.cli(t, "", "vpn", "profile", "ls"), 0, "work  vpn.example.com:1194/udp  password (stored)", "")

	bad := testProfile(t, "script-security 2\nup /bin/evil\n")
	r = d.cli(t, "", "vpn", "profile", "add", "evil", bad)
	check(t, r, 1, "", "line 1")
	check(t, r, 1, "", "script-security")
	check(t, r, 1, "", "(profile_directive_refused)")
	check(t, d.cli(t, "", "vpn", "profile", "add", "x", filepath.Join(t.TempDir(), "none.ovpn")), 1, "", "read profile")

	check(t, d.cli(t, "", "vpn", "profile", "rm", "work"), 0, "profile work removed", "")
	check(t, d.cli(t, "", "vpn", "profile", "show", "work"), 1, "", "(not_found)")
}

func TestVPNCommands(t *testing.T) {
	d := startDaemon(t)
	// The daemon may not serve the VPN routes yet; either way the answer
	// must be clear.
	for _, args := range [][]string{{"vpn", "status"}, {"vpn", "connect", "nosuch"}, {"vpn", "disconnect", "--vm", "default"}} {
		r := d.cli(t, "", args...)
		switch {
		case r.code == 0 && strings.HasPrefix(r.stdout, "State:"):
		case r.code == 1 && strings.HasPrefix(r.stderr, "error: ") && strings.Contains(r.stderr, "("):
		default:
			t.Errorf("%q: %v", args, r)
		}
	}
	check(t, d.cli(t, "", "vpn", "status", "--vm", "nosuch"), 1, "", "error: ")
}

func TestVPNConnect(t *testing.T) {
	d := startDaemon(t)
	check(t, d.cli(t, "", "vpn", "profile", "add", "work", testProfile(t, "")), 0, "", "")
	check(t, d.cli(t, "", "vpn", "connect", "work"), 1, "", "(invalid_state)") // default is not running
	check(t, d.cli(t, "", "vm", "start"), 0, "", "")
	r := d.cli(t, "", "vpn", "connect", "work")
	if r.code == 1 && strings.Contains(r.stderr, "(not_implemented)") {
		t.Skip("this daemon does not serve VPN connections yet")
	}
	check(t, r, 0, "State:", "")
	check(t, r, 0, "Profile:  work", "")
	r = d.cli(t, "", "vpn", "status", "--json")
	var st api.VPNStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Profile != "work" || st.State == api.VPNStateDisconnected {
		t.Fatalf("status --json: %v\n%v", err, r)
	}
	check(t, d.cli(t, "", "vpn", "connect", "nosuch"), 1, "", "(not_found)")
	check(t, d.cli(t, "", "vpn", "disconnect"), 0, "State:", "")
	check(t, d.cli(t, "", "vpn", "status"), 0, "disconnected", "")
}

func TestEvents(t *testing.T) {
	d := startDaemon(t)
	ctx, cancel := context.WithCancel(t.Context())
	out := newSyncBuffer()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"--data-dir", d.dir, "events"}, strings.NewReader(""), out, out)
	}()
	c, err := client.FromDataDir(d.dir)
	if err != nil {
		t.Fatal(err)
	}
	// Events from before the stream opened are replayed, so no race here.
	if _, err := c.CreateVM(t.Context(), "work", ""); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "vm.created  work")
	if _, err := c.StartVM(t.Context(), "work"); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "vm.state    work running")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("events ended with %v; printed:\n%s", err, out)
	}

	r := d.cli(t, "", "events", "--json", "--after", "0", "--help")
	check(t, r, 0, "usage: microvm-api events", "")
}

func TestEventsDaemonStops(t *testing.T) {
	d := startDaemon(t)
	out, errOut := newSyncBuffer(), newSyncBuffer()
	done := make(chan error, 1)
	go func() {
		done <- Run(t.Context(), []string{"--data-dir", d.dir, "events"}, strings.NewReader(""), out, errOut)
	}()
	check(t, d.cli(t, "", "vm", "create", "work"), 0, "", "")
	out.waitFor(t, "vm.created  work")
	d.stop()
	err := recv(t, done)
	if code, _ := ExitCode(err); code != ExitUnreachable || !strings.Contains(errOut.String(), "is the daemon running?") {
		t.Fatalf("events after the daemon stopped: %v, %q", err, errOut)
	}
}

func TestEventsJSON(t *testing.T) {
	d := startDaemon(t)
	check(t, d.cli(t, "", "vm", "create", "work"), 0, "", "")
	ctx, cancel := context.WithCancel(t.Context())
	out := newSyncBuffer()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"--data-dir", d.dir, "events", "--json"}, strings.NewReader(""), out, out)
	}()
	out.waitFor(t, `"vm":"work"}`+"\n")
	cancel()
	<-done
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var ev api.Event
	last := lines[len(lines)-1]
	if err := json.Unmarshal([]byte(last), &ev); err != nil || ev.Type != api.EventTypeVMCreated || ev.VM != "work" || ev.ID == 0 {
		t.Fatalf("line %q: %+v %v", last, ev, err)
	}
}

func TestConsole(t *testing.T) {
	d := startDaemon(t)
	r := d.cli(t, "", "console")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "http://127.0.0.1:") || !strings.Contains(r.stdout, "/console/login?code=") {
		t.Fatalf("console: %v", r)
	}
	check(t, runCLI(t, "", "--data-dir", t.TempDir(), "console"), 3, "", "is the daemon running?")
}
