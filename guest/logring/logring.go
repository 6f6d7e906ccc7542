// Package logring keeps the agent's recent log lines in memory so the
// daemon can fetch them (agentapi.PathLogs). Handler is an slog.Handler that
// writes every record to an inner handler (stderr) and also into a Ring.
package logring

import (
	"sync"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
)

// Bounds of a Ring's memory: entries kept and bytes per message.
const (
	DefaultSize    = 1000
	MaxMessageSize = 2048
)

// Ring is a fixed-size ring of log entries, safe for concurrent use.
type Ring struct {
	mu   sync.Mutex
	buf  []agentapi.LogEntry
	next int  // index the next entry goes to
	full bool // buf has wrapped
}

// NewRing returns a ring keeping the last size entries (DefaultSize if
// size <= 0).
func NewRing(size int) *Ring {
	if size <= 0 {
		size = DefaultSize
	}
	return &Ring{buf: make([]agentapi.LogEntry, size)}
}

// Add appends e, dropping the oldest entry when the ring is full. Long
// messages are cut to MaxMessageSize bytes.
func (r *Ring) Add(e agentapi.LogEntry) {
	if len(e.Message) > MaxMessageSize {
		e.Message = e.Message[:MaxMessageSize] + "…"
	}
	r.mu.Lock()
	r.buf[r.next] = e
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
	r.mu.Unlock()
}

// Entries returns, oldest first, the last limit entries (all when limit <=
// 0) whose time is after since (all when since is zero).
func (r *Ring) Entries(since time.Time, limit int) []agentapi.LogEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	if limit <= 0 || limit > n {
		limit = n
	}
	out := make([]agentapi.LogEntry, 0, limit)
	// Walk newest to oldest, then reverse.
	for i := 0; i < n && len(out) < limit; i++ {
		e := r.buf[(r.next-1-i+len(r.buf))%len(r.buf)]
		if !since.IsZero() && !e.Time.After(since) {
			break
		}
		out = append(out, e)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
