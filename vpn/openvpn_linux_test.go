package vpn

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenVPNAcceptsRendering feeds renderings to a real openvpn and
// checks that it accepts every option, up to the management hold. openvpn
// runs in a fresh network namespace and is stopped at the hold, so it never
// sends a packet. Skipped without openvpn or without the right to create a
// network namespace.
func TestOpenVPNAcceptsRendering(t *testing.T) {
	bin, err := exec.LookPath("openvpn")
	if err != nil {
		t.Skip("openvpn is not installed")
	}
	pki := newTestPKI(t)
	full := strings.Replace(pki.fullProfile(), "remote vpn1.example.net", "remote 192.0.2.10", 1)
	out, ok := runToHold(t, bin, mustParse(t, full).Render())
	if !ok {
		t.Fatalf("openvpn did not reach the management hold with the full profile:\n%s", out)
	}
	// The golden renderings of the sample profiles.
	goldens, err := filepath.Glob(filepath.Join("testdata", "profiles", "*.rendered"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range goldens {
		config, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if out, ok := runToHold(t, bin, config); !ok {
			t.Errorf("openvpn refuses %s:\n%s", path, out)
		}
	}
	// One run per allowed form, since some options conflict with others.
	for _, line := range allowedSamples {
		profile := "client\ndev tun\nremote 192.0.2.1\nauth-user-pass\n" + line + "\n<ca>\n" + pki.caPEM + "</ca>\n"
		if out, ok := runToHold(t, bin, mustParse(t, profile).Render()); !ok {
			t.Errorf("openvpn refuses %q:\n%s", line, out)
		}
	}
}

// TestOpenVPNLexesLikeUs checks the lexer against openvpn itself: each
// spelling of an argument, as uploaded and as rendered, must reach openvpn
// as the very token Parse read. openvpn prints verify-x509-name back at
// verbosity 4.
func TestOpenVPNLexesLikeUs(t *testing.T) {
	bin, err := exec.LookPath("openvpn")
	if err != nil {
		t.Skip("openvpn is not installed")
	}
	pki := newTestPKI(t)
	for _, spelling := range []string{
		`plain`, `"double quoted"`, `'single "quoted" \ x'`, `a\ b`, `"a \"q\" \\ b #x ;y 'z"`,
		`\"lead`, `x#y;z`, `"ünïcode €"`, `a\\b`, `'#hash'`, `--x`,
	} {
		profile := "client\ndev tun\nremote 192.0.2.1\nauth-user-pass\n" +
			"verify-x509-name " + spelling + " name\n<ca>\n" + pki.caPEM + "</ca>\n"
		c := mustParse(t, profile)
		var ours string
		for _, o := range c.opts {
			if o.name == "verify-x509-name" {
				ours = o.args[0]
			}
		}
		for _, config := range [][]byte{[]byte(profile), c.Render()} {
			out, ok := runToHold(t, bin, config, "--verb", "4", "--mute", "0")
			if !ok {
				t.Errorf("%s: openvpn did not reach the hold:\n%s", spelling, out)
				continue
			}
			const key = "  verify_x509_name = '"
			_, after, found := strings.Cut(out, key)
			theirs, _, _ := strings.Cut(after, "'\n")
			if !found || theirs != ours {
				t.Errorf("%s: openvpn read %q, Parse read %q (found %v) from:\n%s", spelling, theirs, ours, found, config)
			}
		}
	}
}

// runToHold starts openvpn on config and reports whether it got as far as
// waiting for the management hold, with its output.
func runToHold(t *testing.T, bin string, config []byte, extra ...string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "profile.ovpn")
	if err := os.WriteFile(path, config, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	args := append([]string{"--config", path,
		"--management", filepath.Join(dir, "mgmt.sock"), "unix",
		"--management-hold", "--management-query-passwords",
		"--script-security", "1", "--ifconfig-noexec", "--route-noexec", "--verb", "3"}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start openvpn in a new network namespace: %v", err)
	}
	var out strings.Builder
	held := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "Need hold release from management interface") {
			held = true
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil && held {
		t.Errorf("stop openvpn: %v", err)
	}
	_ = cmd.Wait()
	return out.String(), held
}
