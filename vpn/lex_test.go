package vpn

import (
	"slices"
	"testing"
)

func TestLexLine(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"", nil},
		{"   \t ", nil},
		{"# comment", nil},
		{"; comment", nil},
		{"  ;remote x", nil},
		{"remote a 1194", []string{"remote", "a", "1194"}},
		{"remote a # trailing comment", []string{"remote", "a"}},
		{"remote a ; trailing comment", []string{"remote", "a"}},
		{"remote a#b", []string{"remote", "a#b"}},
		{`verify-x509-name "C=US, O=Ex" subject`, []string{"verify-x509-name", "C=US, O=Ex", "subject"}},
		{`x 'single \ quoted'`, []string{"x", `single \ quoted`}},
		{`x "a \"b\" \\ c"`, []string{"x", `a "b" \ c`}},
		{`x a\ b`, []string{"x", "a b"}},
		{`x ""`, []string{"x", ""}},
		{`x "a"b`, []string{"x", "a", "b"}},
		{"x\ty\r", []string{"x", "y"}},
		{`x \# still a comment, as in openvpn`, []string{"x"}},
	}
	for _, tt := range tests {
		got, err := lexLine(tt.line)
		if err != nil {
			t.Errorf("lexLine(%q): %v", tt.line, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("lexLine(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestLexLineErrors(t *testing.T) {
	for _, line := range []string{
		`x "unterminated`,
		`x 'unterminated`,
		`x trailing\`,
		`x c:\path`,
		`x "a\nb"`,
	} {
		if got, err := lexLine(line); err == nil {
			t.Errorf("lexLine(%q) = %q, want an error", line, got)
		}
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, tok := range []string{
		"", "plain", "a b", `a"b`, `a\b`, "#x", ";x", "<ca>", "it's", "ünïcode", `\"`, "!ipv4", "-x",
	} {
		got, err := lexLine("x " + quote(tok))
		if err != nil || len(got) != 2 || got[1] != tok {
			t.Errorf("quote(%q) = %s, lexes to %q, %v", tok, quote(tok), got, err)
		}
	}
}
