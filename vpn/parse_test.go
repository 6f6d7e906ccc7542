package vpn

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/velocitty/microvm/errdefs"
)

func mustParse(t *testing.T, profile string) *Config {
	t.Helper()
	c, err := Parse([]byte(profile))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestParseFullProfile(t *testing.T) {
	pki := newTestPKI(t)
	c := mustParse(t, pki.fullProfile())
	out := c.Render()

	again := mustParse(t, string(out))
	if !bytes.Equal(again.Render(), out) {
		t.Fatalf("rendering is not stable:\n%s\n---\n%s", out, again.Render())
	}
	for _, want := range []string{
		"client\n", "dev tun\n", "remote 198.51.100.7 443 tcp\n",
		`verify-x509-name "C=US, O=Example, CN=vpn1.example.net" subject` + "\n",
		"auth-user-pass\n", "compress stub-v2\n", "route-ipv6 2001:db8::/32\n",
		"<ca>\n" + pki.caPEM + "</ca>\n", "<key>\n" + pki.keyPEM + "</key>\n",
		"<tls-crypt>\n" + pki.staticKey + "</tls-crypt>\n",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("rendering lacks %q:\n%s", want, out)
		}
	}
	for _, gone := range []string{"Example provider profile", "block-outside-dns", "setenv"} {
		if bytes.Contains(out, []byte(gone)) {
			t.Errorf("rendering still has %q", gone)
		}
	}
}

func TestParseSyntax(t *testing.T) {
	const rest = "auth-user-pass\n<ca>\nAAAA\n</ca>\n"
	tests := []struct {
		name, in, want string // want: part of the rendering
	}{
		{"crlf", "client\r\ndev tun\r\nremote a.example 1194\r\n<ca>\r\nAAAA\r\n</ca>\r\n", "remote a.example 1194\n<ca>\nAAAA\n</ca>\n"},
		{"bom", "\uFEFFclient\ndev tun\nremote a.example\n", "client\ndev tun\nremote a.example\n"},
		{"dashes", "--client\n--dev tun\n--remote a.example\n", "client\ndev tun\nremote a.example\n"},
		{"comments", "# c\n; c\n  # c\nclient # c\ndev tun\nremote a.example ; c\n", "client\ndev tun\nremote a.example\n"},
		{"single quotes", "client\ndev tun\nremote 'a.example' '443'\n", "remote a.example 443\n"},
		{"double quotes", "client\ndev tun\nremote \"a.example\"\n", "remote a.example\n"},
		{"quoted text kept", "client\ndev tun\nremote a\npull-filter ignore \"route 10.0.0.0\"\n", "pull-filter ignore \"route 10.0.0.0\"\n"},
		{"escaped quote", "client\ndev tun\nremote a\npull-filter ignore \"a\\\"b\"\n", "pull-filter ignore \"a\\\"b\"\n"},
		{"setenv opt", "client\ndev tun\nremote a\nsetenv opt tls-version-min 1.2 or-highest\n", "remote a\ntls-version-min 1.2 or-highest\n"},
		{"dropped", "client\ndev tun\nblock-outside-dns\nregister-dns\nroute-method exe\nip-win32 dynamic 0 3600\nsetenv FORWARD_COMPATIBLE 1\nremote a\n", "client\ndev tun\nremote a\n"},
		{"indented block", "client\ndev tun\nremote a\n  <tls-auth>  \n  AAAA\n\n  </tls-auth>\n", "<tls-auth>\n  AAAA\n</tls-auth>\n"},
		{"quoted tag", "client\ndev tun\nremote a\n\"<tls-auth>\"\nAAAA\n</tls-auth>\n", "<tls-auth>\nAAAA\n</tls-auth>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in + rest
			if strings.Contains(tt.in, "<ca>") {
				in = tt.in + "auth-user-pass\n"
			}
			got := string(mustParse(t, in).Render())
			if !strings.Contains(got, tt.want) {
				t.Errorf("rendering lacks %q:\n%s", tt.want, got)
			}
		})
	}
}

func TestParseRequiredParts(t *testing.T) {
	const ca = "<ca>\nAAAA\n</ca>\n"
	tests := []struct {
		name, in, directive string
	}{
		{"no remote", "client\ndev tun\nauth-user-pass\n" + ca, "remote"},
		{"no client", "dev tun\nremote a\nauth-user-pass\n" + ca, "client"},
		{"tls-client without pull", "tls-client\ndev tun\nremote a\nauth-user-pass\n" + ca, "client"},
		{"no dev", "client\nremote a\nauth-user-pass\n" + ca, "dev"},
		{"no ca", "client\ndev tun\nremote a\nauth-user-pass\n", "<ca>"},
		{"cert without key", "client\ndev tun\nremote a\n" + ca + "<cert>\nAAAA\n</cert>\n", "<key>"},
		{"no client auth", "client\ndev tun\nremote a\n" + ca, "auth-user-pass"},
		{"empty", "", "remote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			de := refusedWith(t, tt.in)
			if de.Directive != tt.directive || de.Line != 0 {
				t.Errorf("got %+v, want directive %q on no line", de, tt.directive)
			}
		})
	}
	mustParse(t, "tls-client\npull\ndev tun\nremote a\nauth-user-pass\n"+ca)
	mustParse(t, "client\ndev tun0\nremote a\n<pkcs12>\nAAAA\n</pkcs12>\n")
	mustParse(t, "client\ndev tun\nremote a\npeer-fingerprint AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB\n<cert>\nA\n</cert>\n<key>\nB\n</key>\n")
}

// refusedWith parses in, expecting a *DirectiveError that matches
// errdefs.ErrInvalid.
func refusedWith(t *testing.T, in string) *DirectiveError {
	t.Helper()
	c, err := Parse([]byte(in))
	if err == nil {
		t.Fatalf("Parse accepted:\n%s\nrendered:\n%s", in, c.Render())
	}
	var de *DirectiveError
	if !errors.As(err, &de) {
		t.Fatalf("Parse error %v (%T) is not a *DirectiveError", err, err)
	}
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("error %v does not match errdefs.ErrInvalid", err)
	}
	if de.Line > 0 && !strings.Contains(err.Error(), "line ") {
		t.Errorf("error %q does not name its line", err)
	}
	if !strings.Contains(err.Error(), de.Directive) {
		t.Errorf("error %q does not name its directive", err)
	}
	return de
}

func TestParseTooLarge(t *testing.T) {
	big := bytes.Repeat([]byte("# padding line\n"), MaxConfigSize/15+1)
	_, err := Parse(big)
	if !errors.Is(err, errdefs.ErrTooLarge) {
		t.Fatalf("Parse(%d bytes) = %v, want ErrTooLarge", len(big), err)
	}
}

func TestParseTextLimits(t *testing.T) {
	tests := []struct {
		name, in, reason string
		line             int
	}{
		{"nul", "client\nremote a\x00b\n", "NUL", 2},
		{"binary", "client\n\x01\x02\x03\n", "control character", 2},
		{"lone cr", "client\nremote a\rup /bin/sh\n", "control character", 2},
		{"invalid utf8", "client\nremote \xff\xfe\n", "UTF-8", 2},
		{"long line", "client\nremote " + strings.Repeat("a", MaxLineLength) + "\n", "longer than", 2},
		{"long content", "client\n<ca>\n" + strings.Repeat("A", MaxLineLength+1) + "\n</ca>\n", "longer than", 3},
		{"too many lines", strings.Repeat("\n", MaxLines+1), "too many lines", MaxLines + 1},
		{"unterminated block", "client\n<ca>\nAAAA\n", "not closed", 2},
		{"unterminated quote", "client\nremote \"a\n", "closing quotation", 2},
		{"bad backslash", "client\npull-filter ignore c:\\x\n", "backslash", 2},
		{"empty argument", "client\npull-filter ignore \"\"\n", "empty argument", 2},
		{"tab in token", "client\npull-filter ignore \"a\tb\"\n", "control character", 2},
		{"too many args", "client\nredirect-gateway" + strings.Repeat(" def1", 15) + "\n", "too many arguments", 2},
		{"text after close", "client\n<ca>\nAAAA\n</ca> up /bin/sh\n", "text after", 4},
		{"nested tag", "client\n<ca>\nAAAA\n<key>\n", "missing", 4},
		{"stray close", "client\n</ca>\n", "closing tag", 2},
		{"empty block", "client\n<ca>\n</ca>\n", "empty", 2},
		{"encrypted key", "client\n<key>\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n</key>\n", "encrypted", 2},
		{"legacy encrypted key", "client\n<key>\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n</key>\n", "encrypted", 2},
		{"duplicate block", "client\n<ca>\nA\n</ca>\n<ca>\nB\n</ca>\n", "more than once", 5},
		{"quoting grows line", "client\npull-filter ignore '" + strings.Repeat(`"`, 200) + "'\n", "once quoted", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			de := refusedWith(t, tt.in)
			if de.Line != tt.line || !strings.Contains(de.Reason, tt.reason) {
				t.Errorf("got %+v, want line %d and a reason mentioning %q", de, tt.line, tt.reason)
			}
		})
	}
}

func TestDirectiveErrorMessage(t *testing.T) {
	err := &DirectiveError{Line: 7, Directive: "up", Reason: "runs a program"}
	if got, want := err.Error(), "line 7: up: runs a program"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	const keyLine = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg"
	for _, in := range []string{
		"client\n" + keyLine + "\n",
		"client\n" + keyLine + "\n<ca>\n",
		"client\n" + keyLine + "'\n",
	} {
		de := refusedWith(t, in)
		if de.Directive != unrecognized || strings.Contains(de.Error(), keyLine[:20]) {
			t.Errorf("a pasted key line is echoed: %v", de)
		}
	}
}
