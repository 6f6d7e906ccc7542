package vpn

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// renders to text that parses again to the same rendering, with nothing
// refused slipping through.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimalProfile))
	f.Add([]byte("client\r\ndev tun\r\nremote 'a b' \"1194\" udp\r\n<ca>\r\n x\r\n</ca>\r\nauth-user-pass\r\n"))
	f.Add([]byte("--client\ndev tun\nremote a\nsetenv opt block-outside-dns\npull-filter ignore \"a\\\"b\\\\\"\n<pkcs12>\nAAAA\n</pkcs12>\n"))
	f.Add([]byte("client\ndev tun\nremote a\nscript-security 2\nup /bin/sh\n"))
	if seeds, err := filepath.Glob(filepath.Join("testdata", "profiles", "*.ovpn")); err == nil {
		for _, path := range seeds {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a Config with an error")
			}
			return
		}
		out := c.Render()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("rendering is refused: %v\ninput:\n%q\nrendering:\n%q", err, data, out)
		}
		if !bytes.Equal(again.Render(), out) {
			t.Fatalf("rendering is not stable:\n%q\n---\n%q", out, again.Render())
		}
		if len(out) > MaxConfigSize {
			t.Fatalf("rendering is %d bytes", len(out))
		}
		_ = c.Summary()
	})
}

// FuzzQuote checks that any token Parse can hold survives quote and
// lexLine unchanged.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"plain", `a "b" \c`, "#x", "'", "ü €"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if tok == "" || !utf8.ValidString(tok) || strings.ContainsFunc(tok, isControl) {
			return
		}
		got, err := lexLine("x " + quote(tok) + " # comment")
		if err != nil || len(got) != 2 || got[1] != tok {
			t.Fatalf("quote(%q) = %s lexes to %q, %v", tok, quote(tok), got, err)
		}
	})
}
