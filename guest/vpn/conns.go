package vpn

import (
	"net"
	"runtime"
	"sync"
	"weak"
)

// conns remembers the connections made through one tunnel namespace so
// that they can be closed when the session ends: otherwise they would hang
// on a tunnel that no longer exists and keep its namespace alive. They are
// not wrapped (a wrapped *net.TCPConn would lose the kernel splicing the
// proxy relies on) and are held weakly, so a connection closed and dropped
// by its user is forgotten by the garbage collector.
type conns struct {
	mu      sync.Mutex
	next    uint64
	closers map[uint64]func()
	closed  bool
}

// add tracks c; if the set was already closed, c is closed at once.
func (cs *conns) add(c net.Conn) net.Conn {
	switch c := c.(type) {
	case *net.TCPConn:
		track(cs, c)
	case *net.UDPConn:
		track(cs, c)
	}
	return c
}

func track[T any, P interface {
	*T
	Close() error
}](cs *conns, c P) {
	w := weak.Make((*T)(c))
	closer := func() {
		if v := w.Value(); v != nil {
			P(v).Close()
		}
	}
	cs.mu.Lock()
	if cs.closed {
		cs.mu.Unlock()
		c.Close()
		return
	}
	if cs.closers == nil {
		cs.closers = make(map[uint64]func())
	}
	id := cs.next
	cs.next++
	cs.closers[id] = closer
	cs.mu.Unlock()
	runtime.AddCleanup((*T)(c), cs.forget, id)
}

func (cs *conns) forget(id uint64) {
	cs.mu.Lock()
	delete(cs.closers, id)
	cs.mu.Unlock()
}

// closeAll closes every tracked connection still alive, and any added later.
func (cs *conns) closeAll() {
	cs.mu.Lock()
	cs.closed = true
	closers := cs.closers
	cs.closers = nil
	cs.mu.Unlock()
	for _, c := range closers {
		c()
	}
}

// len reports how many connections are tracked.
func (cs *conns) len() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.closers)
}
