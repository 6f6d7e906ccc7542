// Package ratelimit lets an event through at most once per interval, for
// log lines that a misbehaving client could otherwise repeat at will.
package ratelimit

import (
	"sync/atomic"
	"time"
)

// Every allows one event per Interval. The zero value allows one a second.
// It is safe for concurrent use.
type Every struct {
	Interval time.Duration
	last     atomic.Int64 // unix nanos of the last allowed event
}

// Allow reports whether an event may happen now, and if so records it.
func (e *Every) Allow() bool {
	iv := e.Interval
	if iv <= 0 {
		iv = time.Second
	}
	now := time.Now().UnixNano()
	last := e.last.Load()
	return now-last >= int64(iv) && e.last.CompareAndSwap(last, now)
}
