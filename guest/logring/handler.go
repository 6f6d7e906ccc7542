package logring

import (
	"context"
	"log/slog"
	"strings"

	"github.com/velocitty/microvm/guest/agentapi"
)

// SourceKey is the attribute that names a record's source in the ring
// ("agent" when absent). Components log with logger.With(SourceKey, "vpn").
// Do not combine with slog.HandlerOptions.AddSource, which uses the same key.
const SourceKey = "source"

// DefaultSource is the source of records that name none.
const DefaultSource = "agent"

// Handler tees records into a Ring and an inner handler. The ring entry's
// message is the record's message followed by its attributes as key=value.
type Handler struct {
	inner  slog.Handler
	ring   *Ring
	level  slog.Leveler
	source string
	attrs  string // preformatted attributes from WithAttrs
	group  string // dotted group prefix from WithGroup
}

// NewHandler returns a handler writing to inner (which may be nil) and ring
// every record at or above level (nil: info).
func NewHandler(inner slog.Handler, ring *Ring, level slog.Leveler) *Handler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &Handler{inner: inner, ring: ring, level: level, source: DefaultSource}
}

// Enabled reports whether either destination wants level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.level.Level() || h.inner != nil && h.inner.Enabled(ctx, level)
}

// Handle writes r to the ring and the inner handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= h.level.Level() {
		source := h.source
		var b strings.Builder
		b.WriteString(r.Message)
		b.WriteString(h.attrs)
		r.Attrs(func(a slog.Attr) bool {
			if h.group == "" && a.Key == SourceKey {
				source = a.Value.String()
				return true
			}
			appendAttr(&b, h.group, a)
			return true
		})
		h.ring.Add(agentapi.LogEntry{Time: r.Time, Level: levelName(r.Level), Source: source, Message: b.String()})
	}
	if h.inner != nil && h.inner.Enabled(ctx, r.Level) {
		return h.inner.Handle(ctx, r)
	}
	return nil
}

// WithAttrs returns a handler adding attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range attrs {
		if h.group == "" && a.Key == SourceKey {
			h2.source = a.Value.String()
			continue
		}
		appendAttr(&b, h.group, a)
	}
	h2.attrs = b.String()
	if h.inner != nil {
		h2.inner = h.inner.WithAttrs(attrs)
	}
	return &h2
}

// WithGroup returns a handler qualifying later attributes with name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = h.group + name + "."
	if h.inner != nil {
		h2.inner = h.inner.WithGroup(name)
	}
	return &h2
}

func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			appendAttr(b, prefix, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix)
	b.WriteString(a.Key)
	b.WriteByte('=')
	v := a.Value.String()
	if v == "" || strings.ContainsAny(v, " \t\n\"=") {
		v = quote(v)
	}
	b.WriteString(v)
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}
