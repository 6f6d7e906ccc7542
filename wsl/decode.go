package wsl

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeText turns wsl.exe's own output into a string with "\n" line
// ends. wsl.exe writes UTF-16LE without a byte order mark unless
// WSL_UTF8=1 is honoured (inbox builds ignore it), and its CRT text mode
// turns "\n" into "\r\n", sometimes "\r\r\n" for multi-line messages; so
// every "\r" is dropped.
func decodeText(b []byte) string {
	var s string
	switch {
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		s = decodeUTF16LE(b[2:])
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		s = string(b[3:])
	case looksUTF16LE(b):
		s = decodeUTF16LE(b)
	default:
		s = string(b)
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.ReplaceAll(s, "\x00", "")
	return strings.ReplaceAll(s, "\r", "")
}

// looksUTF16LE reports whether b is most likely UTF-16LE text: the text
// wsl.exe prints is mostly ASCII, so in UTF-16LE every odd byte among the
// first few is zero, which never happens in UTF-8 text.
func looksUTF16LE(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	n := min(len(b)&^1, 64)
	zeros := 0
	for i := 1; i < n; i += 2 {
		if b[i] == 0 {
			zeros++
		}
	}
	return zeros*2 >= n/2
}

func decodeUTF16LE(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// lines splits decoded text into trimmed, non-empty lines.
func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
