package vpn

import (
	"bytes"
	"strings"
)

// Render returns the canonical profile: the accepted directives and inline
// blocks in their original order, one per line, arguments re-quoted, no
// comments. Parsing it again yields the same rendering.
func (c *Config) Render() []byte { return bytes.Clone(c.rendered) }

func (c *Config) render() []byte {
	var b bytes.Buffer
	for _, o := range c.opts {
		if o.block {
			b.WriteString("<" + o.name + ">\n" + o.body + "</" + o.name + ">\n")
			continue
		}
		b.WriteString(renderLine(o))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func renderLine(o option) string {
	parts := make([]string, 0, 1+len(o.args))
	parts = append(parts, o.name)
	for _, a := range o.args {
		parts = append(parts, quote(a))
	}
	return strings.Join(parts, " ")
}
