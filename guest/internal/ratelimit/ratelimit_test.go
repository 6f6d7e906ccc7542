package ratelimit

import (
	"testing"
	"time"
)

func TestEvery(t *testing.T) {
	e := Every{Interval: 50 * time.Millisecond}
	if !e.Allow() || e.Allow() {
		t.Fatal("want the first event only")
	}
	time.Sleep(60 * time.Millisecond)
	if !e.Allow() {
		t.Fatal("want an event after the interval")
	}
}
