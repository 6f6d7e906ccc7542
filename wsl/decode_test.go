package wsl

import (
	"testing"
)

func TestDecodeText(t *testing.T) {
	const want = "  NAME      STATE           VERSION\n* Ubuntu    Stopped         2\n"
	tests := []struct {
		name string
		in   []byte
	}{
		{"utf8", []byte(want)},
		{"utf8 crlf", []byte(crlf(want))},
		{"utf8 bom", append([]byte{0xEF, 0xBB, 0xBF}, crlf(want)...)},
		{"utf16 without bom", utf16le(crlf(want), false)},
		{"utf16 with bom", utf16le(crlf(want), true)},
		{"utf16 cr cr lf", utf16le("  NAME      STATE           VERSION\r\r\n* Ubuntu    Stopped         2\r\r\n", false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeText(tt.in); got != want {
				t.Errorf("decodeText = %q, want %q", got, want)
			}
		})
	}
}

func TestDecodeTextNonASCII(t *testing.T) {
	const msg = "错误代码: Wsl/Service/WSL_E_DISTRO_NOT_FOUND\n"
	if got := decodeText(utf16le(crlf(msg), false)); got != msg {
		t.Errorf("utf16 = %q", got)
	}
	if got := decodeText([]byte(crlf(msg))); got != msg {
		t.Errorf("utf8 = %q", got)
	}
	if got := decodeText(nil); got != "" {
		t.Errorf("empty = %q", got)
	}
}

func FuzzDecodeText(f *testing.F) {
	f.Add([]byte("a\r\nb"))
	f.Add(utf16le("Default Version: 2\r\n", false))
	f.Add([]byte{0xFF, 0xFE, 0x41})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := decodeText(b)
		for _, c := range s {
			if c == '\r' || c == 0 {
				t.Fatalf("decoded text keeps %q: %q", c, s)
			}
		}
		parseVerbose(s)
		parseStatus(s)
		errorCode(s)
	})
}
