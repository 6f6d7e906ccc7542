package vpn

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/velocitty/microvm/errdefs"
)

// Limits on an uploaded profile.
const (
	// MaxConfigSize is the largest profile accepted, in bytes, before and
	// after rendering.
	MaxConfigSize = 256 << 10
	// MaxLineLength bounds every line (without its line ending). OpenVPN
	// reads config lines into a 256-byte buffer and would split a longer
	// line, turning its tail into a directive of its own.
	MaxLineLength = 250
	// MaxLines bounds the number of lines in a profile.
	MaxLines = 8192
)

// Config is a profile that passed the allowlist. It is immutable and
// opaque: Render gives the canonical text for openvpn and Summary the
// facts that are safe to show.
type Config struct {
	opts     []option
	rendered []byte
	summary  Summary
}

// option is one accepted directive or inline block.
type option struct {
	line  int
	name  string
	args  []string
	block bool
	body  string // inline block content: lines, each ending in "\n"
}

// Parse reads an OpenVPN client profile and accepts it only if every line
// is an allowed client option or inline key block. A refused line yields a
// *DirectiveError; a profile over MaxConfigSize an error matching
// errdefs.ErrTooLarge.
func Parse(config []byte) (*Config, error) {
	if len(config) > MaxConfigSize {
		return nil, fmt.Errorf("parse profile: %d bytes is over the limit of %d: %w", len(config), MaxConfigSize, errdefs.ErrTooLarge)
	}
	config = bytes.TrimPrefix(config, []byte("\uFEFF"))
	lines := strings.Split(string(config), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > MaxLines {
		return nil, refuse(MaxLines+1, "profile", "too many lines (the limit is %d)", MaxLines)
	}
	p := &parser{seen: map[string]bool{}}
	for i, raw := range lines {
		if err := p.line(i+1, strings.TrimSuffix(raw, "\r")); err != nil {
			return nil, err
		}
	}
	if p.tag != "" {
		return nil, refuse(p.tagLine, "<"+p.tag+">", "inline block is not closed with </%s>", p.tag)
	}
	if err := p.complete(); err != nil {
		return nil, err
	}
	c := &Config{opts: p.opts}
	c.rendered = c.render()
	if len(c.rendered) > MaxConfigSize {
		return nil, fmt.Errorf("parse profile: rendering is %d bytes, over the limit of %d: %w", len(c.rendered), MaxConfigSize, errdefs.ErrTooLarge)
	}
	c.summary = summarize(c.opts)
	return c, nil
}

type parser struct {
	opts    []option
	seen    map[string]bool // option names and block tags present
	tag     string          // open inline block, if any
	tagLine int
	body    strings.Builder
}

func (p *parser) line(n int, line string) error {
	if err := checkText(line); err != nil {
		name := "<" + p.tag + ">"
		if p.tag == "" {
			name = firstField(line)
		}
		return refuse(n, name, "%s", err)
	}
	if p.tag != "" {
		return p.content(n, line)
	}
	tokens, err := lexLine(line)
	if err != nil {
		return refuse(n, firstField(line), "%s", err)
	}
	if len(tokens) == 0 {
		return nil
	}
	tokens[0] = stripDashes(tokens[0])
	if tag, ok := tagOf(tokens); ok {
		return p.open(n, tag)
	}
	for _, t := range tokens {
		if strings.ContainsFunc(t, isControl) {
			return refuse(n, tokens[0], "an argument contains a control character")
		}
		if t == "" {
			// openvpn 2.6 does not take "" as an argument.
			return refuse(n, tokens[0], "empty argument")
		}
	}
	if len(tokens) > maxTokens {
		return refuse(n, tokens[0], "too many arguments")
	}
	return p.directive(n, tokens[0], tokens[1:])
}

func (p *parser) directive(n int, name string, args []string) error {
	if name == "setenv" && len(args) > 0 && args[0] == "opt" {
		// "setenv opt X" is X, made non-fatal if openvpn does not know it.
		// We check X like any other line and render it plainly.
		if len(args) < 2 {
			return refuse(n, name, "setenv opt needs a directive")
		}
		return p.directive(n, args[1], args[2:])
	}
	if name == "setenv" && len(args) > 0 && args[0] == "FORWARD_COMPATIBLE" {
		// It only turns unknown options into warnings, and no unknown
		// option is ever rendered: accepted, and dropped.
		return nil
	}
	s, ok := allowed[name]
	if !ok || (name == "auth-user-pass" && len(args) > 0) {
		return refuse(n, name, "%s", refusal(name, args))
	}
	switch {
	case len(args) < s.min:
		return refuse(n, name, "needs at least %d argument(s)", s.min)
	case len(args) > s.max && s.max == 0:
		return refuse(n, name, "takes no arguments")
	case len(args) > s.max:
		return refuse(n, name, "takes at most %d argument(s)", s.max)
	}
	if s.check != nil {
		if err := s.check(args); err != nil {
			return refuse(n, name, "%s", err)
		}
	}
	if s.drop {
		return nil
	}
	o := option{line: n, name: name, args: args}
	if l := len(renderLine(o)); l > MaxLineLength {
		return refuse(n, name, "line is %d bytes once quoted, over the limit of %d", l, MaxLineLength)
	}
	p.seen[name] = true
	p.opts = append(p.opts, o)
	return nil
}

func (p *parser) open(n int, tag string) error {
	name := "<" + tag + ">"
	switch {
	case inlineTags[tag]:
	case strings.HasPrefix(tag, "/"):
		return refuse(n, name, "closing tag without an opening <%s>", tag[1:])
	case refusedTags[tag] != "":
		return refuse(n, name, "%s", refusedTags[tag])
	default:
		return refuse(n, name, "not a supported inline block")
	}
	if p.seen[name] {
		return refuse(n, name, "appears more than once")
	}
	p.seen[name] = true
	p.tag, p.tagLine = tag, n
	p.body.Reset()
	return nil
}

func (p *parser) content(n int, line string) error {
	trimmed := strings.TrimLeft(line, " \t")
	closing := "</" + p.tag + ">"
	name := "<" + p.tag + ">"
	switch {
	case strings.HasPrefix(trimmed, closing):
		if strings.TrimSpace(trimmed[len(closing):]) != "" {
			return refuse(n, name, "text after %s", closing)
		}
		if p.body.Len() == 0 {
			return refuse(p.tagLine, name, "inline block is empty")
		}
		body := p.body.String()
		if p.tag == "key" && isEncryptedKey(body) {
			return refuse(p.tagLine, name, "encrypted private keys are not supported; decrypt the key (e.g. openssl pkey) and upload again")
		}
		p.opts = append(p.opts, option{line: p.tagLine, name: p.tag, block: true, body: body})
		p.tag = ""
		return nil
	case strings.HasPrefix(trimmed, "<"):
		return refuse(n, name, "tag inside the block; is %s missing?", closing)
	}
	if strings.TrimSpace(line) == "" {
		return nil
	}
	p.body.WriteString(line)
	p.body.WriteByte('\n')
	return nil
}

// complete checks what a usable client profile must contain.
func (p *parser) complete() error {
	has := func(names ...string) bool {
		for _, n := range names {
			if p.seen[n] {
				return true
			}
		}
		return false
	}
	switch {
	case !has("remote"):
		return refuse(0, "remote", "the profile has no remote server")
	case !has("client") && !(has("tls-client") && has("pull")):
		return refuse(0, "client", `a client profile needs "client" (or "tls-client" and "pull")`)
	case !has("dev"):
		return refuse(0, "dev", `the profile needs "dev tun"`)
	case !has("<ca>", "<pkcs12>", "<peer-fingerprint>", "peer-fingerprint"):
		return refuse(0, "<ca>", "the profile needs an inline <ca> block (or <pkcs12> or peer-fingerprint)")
	case has("<cert>") != has("<key>"):
		return refuse(0, "<key>", "<cert> and <key> must be given together")
	case !has("<cert>", "<pkcs12>", "auth-user-pass"):
		return refuse(0, "auth-user-pass", "no client authentication: add <cert> and <key>, <pkcs12>, or auth-user-pass")
	}
	return nil
}

// isEncryptedKey spots PKCS#8 and legacy OpenSSL encrypted keys. openvpn
// would stop and ask for the key's passphrase, which nothing answers.
func isEncryptedKey(body string) bool {
	return strings.Contains(body, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
		strings.Contains(body, "Proc-Type: 4,ENCRYPTED")
}

// checkText refuses bytes that have no place in a text profile.
func checkText(line string) error {
	switch {
	case len(line) > MaxLineLength:
		return fmt.Errorf("line is longer than %d bytes", MaxLineLength)
	case strings.IndexByte(line, 0) >= 0:
		return fmt.Errorf("contains a NUL byte (binary data?)")
	case !utf8.ValidString(line):
		return fmt.Errorf("is not valid UTF-8 text")
	case strings.ContainsFunc(line, func(r rune) bool { return r != '\t' && isControl(r) }):
		return fmt.Errorf("contains a control character (binary data?)")
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// firstField names a line in an error when it could not be tokenized.
func firstField(line string) string {
	f := strings.Fields(line)
	if len(f) == 0 {
		return "profile"
	}
	return stripDashes(f[0])
}
