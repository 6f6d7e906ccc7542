package machine

import (
	"context"
	"testing"
)

func TestEventsReplayAndLive(t *testing.T) {
	l := NewEvents(4)
	for i := range 6 {
		l.Publish(Event{Type: EventVMState, VM: "v", State: string(rune('a' + i))})
	}
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := l.Subscribe(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Only ids 3..6 are buffered; after=3 replays 4, 5, 6.
	for _, want := range []uint64{4, 5, 6} {
		if e := <-ch; e.ID != want {
			t.Fatalf("replay id = %d, want %d", e.ID, want)
		}
	}
	l.Publish(Event{Type: EventVMDeleted, VM: "v"})
	if e := <-ch; e.ID != 7 || e.Type != EventVMDeleted {
		t.Fatalf("live event = %+v", e)
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("channel open after cancel")
	}
}

func TestEventsDropSlowSubscriber(t *testing.T) {
	l := NewEvents(16)
	ch, err := l.Subscribe(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for range l.buffer + 1 {
		l.Publish(Event{Type: EventVMState, VM: "v"})
	}
	n := 0
	for range ch {
		n++
	}
	if n != l.buffer {
		t.Fatalf("slow subscriber got %d events before being dropped, want %d", n, l.buffer)
	}
}
