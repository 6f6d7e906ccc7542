package vpn

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestBackoffDoublesAndResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		top := func(n int64) int64 { return n - 1 } // always the full delay
		b := backoff{min: time.Second, max: 8 * time.Second, rand: top}
		want := []time.Duration{1, 2, 4, 8, 8}
		for i, w := range want {
			start := time.Now()
			if !b.wait(t.Context()) {
				t.Fatal("wait returned false")
			}
			if got := time.Since(start); got != w*time.Second {
				t.Errorf("wait %d took %v, want %v", i, got, w*time.Second)
			}
		}
		b.reset()
		if d := b.next(); d != time.Second {
			t.Errorf("after reset: %v, want 1s", d)
		}
	})
}

func TestBackoffJitterRange(t *testing.T) {
	b := backoff{min: time.Second, max: 30 * time.Second}
	for i := range 200 {
		if i%6 == 0 {
			b.reset()
		}
		n := b.n
		d := b.next()
		full := min(time.Second<<n, 30*time.Second)
		if d < full/2 || d > full {
			t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, full/2, full)
		}
	}
}

func TestBackoffWaitStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := backoff{min: time.Minute, max: time.Hour}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		if b.wait(ctx) {
			t.Error("wait returned true after cancel")
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("returned after %v, want 1s", got)
		}
	})
}
