package vpn

import (
	"errors"
	"strings"
)

// maxTokens is how many tokens OpenVPN reads from a config line (one less
// than its MAX_PARMS); it silently drops any more, so a longer line is
// refused rather than guessed at.
const maxTokens = 15

// lexLine splits one config line into tokens the way OpenVPN's parse_line
// does: blanks separate tokens, '#' or ';' where a token would start begins
// a comment, "double quotes" allow \\, \" and escaped blanks, 'single
// quotes' take everything literally, and outside single quotes a backslash
// may only escape a backslash, a double quote or a blank. Anything that
// OpenVPN would reject, or would read differently from us, is an error.
func lexLine(line string) ([]string, error) {
	const (
		initial = iota
		unquoted
		dquoted
		squoted
	)
	var (
		tokens    []string
		cur       strings.Builder
		state     = initial
		backslash = false
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if !backslash && c == '\\' && state != squoted {
			backslash = true
			continue
		}
		var out byte
		done := false
		switch state {
		case initial:
			if isBlank(c) {
				break
			}
			if c == '#' || c == ';' {
				return tokens, checkBackslash(backslash, 0)
			}
			switch {
			case !backslash && c == '"':
				state = dquoted
			case !backslash && c == '\'':
				state = squoted
			default:
				out = c
				state = unquoted
			}
		case unquoted:
			if !backslash && isBlank(c) {
				done = true
			} else {
				out = c
			}
		case dquoted:
			if !backslash && c == '"' {
				done = true
			} else {
				out = c
			}
		case squoted:
			if c == '\'' {
				done = true
			} else {
				out = c
			}
		}
		if done {
			tokens = append(tokens, cur.String())
			cur.Reset()
			state = initial
		}
		if err := checkBackslash(backslash, out); err != nil {
			return nil, err
		}
		if out != 0 {
			cur.WriteByte(out)
		}
		backslash = false
	}
	if backslash {
		return nil, errors.New("line ends with a backslash")
	}
	switch state {
	case unquoted:
		tokens = append(tokens, cur.String())
	case dquoted:
		return nil, errors.New(`no closing quotation (")`)
	case squoted:
		return nil, errors.New("no closing quotation (')")
	}
	return tokens, nil
}

// checkBackslash rejects escapes OpenVPN calls "bad backslash usage".
func checkBackslash(backslash bool, out byte) error {
	if backslash && out != 0 && out != '\\' && out != '"' && !isBlank(out) {
		return errors.New(`bad backslash usage: only \\, \" and an escaped blank are allowed`)
	}
	return nil
}

// isBlank is C isspace in the "C" locale, as OpenVPN uses it.
func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// quote renders a token so that lexLine reads it back unchanged. Plain
// tokens stay bare; anything else goes in double quotes with \ and "
// escaped. Tokens never hold control characters (Parse refuses them).
func quote(tok string) string {
	if tok != "" && isPlain(tok) {
		return tok
	}
	var b strings.Builder
	b.Grow(len(tok) + 2)
	b.WriteByte('"')
	for i := 0; i < len(tok); i++ {
		if tok[i] == '\\' || tok[i] == '"' {
			b.WriteByte('\\')
		}
		b.WriteByte(tok[i])
	}
	b.WriteByte('"')
	return b.String()
}

func isPlain(tok string) bool {
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_.:/@=+,!%-", c) >= 0:
		default:
			return false
		}
	}
	return true
}
