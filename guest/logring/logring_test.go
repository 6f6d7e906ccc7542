package logring

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
)

func TestRingBounds(t *testing.T) {
	r := NewRing(3)
	base := time.Unix(1000, 0)
	for i := range 5 {
		r.Add(agentapi.LogEntry{Time: base.Add(time.Duration(i) * time.Second), Message: fmt.Sprint(i)})
	}
	msgs := func(es []agentapi.LogEntry) string {
		var s []string
		for _, e := range es {
			s = append(s, e.Message)
		}
		return strings.Join(s, ",")
	}
	if got := msgs(r.Entries(time.Time{}, 0)); got != "2,3,4" {
		t.Errorf("all: %s", got)
	}
	if got := msgs(r.Entries(time.Time{}, 2)); got != "3,4" {
		t.Errorf("limit 2: %s", got)
	}
	if got := msgs(r.Entries(base.Add(3*time.Second), 0)); got != "4" {
		t.Errorf("since 3: %s", got)
	}
	r.Add(agentapi.LogEntry{Message: strings.Repeat("x", 10*MaxMessageSize)})
	if got := r.Entries(time.Time{}, 1)[0].Message; len(got) > MaxMessageSize+4 {
		t.Errorf("long message kept %d bytes", len(got))
	}
	if got := NewRing(4).Entries(time.Time{}, 10); len(got) != 0 {
		t.Errorf("empty ring: %v", got)
	}
}

func TestHandlerTees(t *testing.T) {
	var out bytes.Buffer
	ring := NewRing(10)
	log := slog.New(NewHandler(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}), ring, slog.LevelInfo))
	log.Debug("not_in_ring")
	log.Info("started", "port", 1025)
	log.With(SourceKey, "vpn").WithGroup("tun").Warn("link_down", "dev", "tun0", "why", "peer gone")
	es := ring.Entries(time.Time{}, 0)
	if len(es) != 2 {
		t.Fatalf("ring: %+v", es)
	}
	if e := es[0]; e.Source != "agent" || e.Level != "info" || e.Message != "started port=1025" {
		t.Errorf("first: %+v", e)
	}
	if e := es[1]; e.Source != "vpn" || e.Level != "warn" || e.Message != `link_down tun.dev=tun0 tun.why="peer gone"` {
		t.Errorf("second: %+v", e)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("stderr lines: %q", lines)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &m); err != nil || m["source"] != "vpn" {
		t.Errorf("JSON line %s: %v", lines[2], err)
	}
}
