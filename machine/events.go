package machine

import (
	"context"
	"sync"
	"time"
)

// Events is an in-memory, numbered event log with a bounded replay buffer.
// Subscribers get every event after a given id (Last-Event-ID) and then a
// live stream. A subscriber that falls too far behind is dropped (its
// channel closes) rather than slowing everyone else or growing memory.
type Events struct {
	mu     sync.Mutex
	next   uint64
	ring   []Event // the last cap(ring) events, oldest first
	size   int
	subs   map[*subscriber]struct{}
	now    func() time.Time
	buffer int
}

type subscriber struct {
	ch     chan Event
	closed bool
}

// NewEvents returns an event log keeping the last size events for replay.
func NewEvents(size int) *Events {
	if size <= 0 {
		size = 256
	}
	return &Events{
		next:   1,
		size:   size,
		subs:   make(map[*subscriber]struct{}),
		now:    time.Now,
		buffer: 64,
	}
}

// Publish numbers e, stores it for replay and hands it to every subscriber.
func (l *Events) Publish(e Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.ID = l.next
	l.next++
	if e.Time.IsZero() {
		e.Time = l.now().UTC()
	}
	if len(l.ring) == l.size {
		copy(l.ring, l.ring[1:])
		l.ring = l.ring[:l.size-1]
	}
	l.ring = append(l.ring, e)
	for s := range l.subs {
		select {
		case s.ch <- e:
		default: // too slow: drop it; it can resume with Last-Event-ID
			l.closeLocked(s)
		}
	}
	return e
}

// LastID is the id of the newest event, 0 when there is none.
func (l *Events) LastID() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next - 1
}

// Subscribe returns the events with an id greater than after that are
// still buffered, followed by new ones as they are published. The channel
// closes when ctx ends or when the subscriber falls behind.
func (l *Events) Subscribe(ctx context.Context, after uint64) (<-chan Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	var replay []Event
	for _, e := range l.ring {
		if e.ID > after {
			replay = append(replay, e)
		}
	}
	s := &subscriber{ch: make(chan Event, l.buffer+len(replay))}
	for _, e := range replay {
		s.ch <- e
	}
	l.subs[s] = struct{}{}
	l.mu.Unlock()

	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.closeLocked(s)
	})
	return s.ch, nil
}

func (l *Events) closeLocked(s *subscriber) {
	if s.closed {
		return
	}
	s.closed = true
	delete(l.subs, s)
	close(s.ch)
}
