package vpn

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff spaces reconnect attempts: the n-th wait is drawn from
// [d/2, d] with d = min(max, min·2ⁿ), so that many agents losing the same
// server do not come back in lockstep. Reset after a healthy connection.
type backoff struct {
	min, max time.Duration
	n        int
	rand     func(int64) int64 // [0, n); nil: math/rand/v2
}

// next returns the wait before the next attempt and counts it.
func (b *backoff) next() time.Duration {
	d := b.min
	for i := 0; i < b.n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.n++
	half := int64(d / 2)
	if half <= 0 {
		return d
	}
	r := rand.Int64N
	if b.rand != nil {
		r = b.rand
	}
	return time.Duration(half + r(half+1))
}

func (b *backoff) reset() { b.n = 0 }

// wait sleeps for the next delay; false when ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.next())
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
