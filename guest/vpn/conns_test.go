package vpn

import (
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

func loopbackPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestConnsCloseAll(t *testing.T) {
	var cs conns
	c, _ := loopbackPair(t)
	if got := cs.add(c); got != c {
		t.Fatal("add wrapped the connection")
	}
	cs.closeAll()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after closeAll: %v, want ErrClosed", err)
	}
	// Added after closeAll: closed at once.
	c2, _ := loopbackPair(t)
	cs.add(c2)
	if _, err := c2.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read of a late connection: %v, want ErrClosed", err)
	}
}

func TestConnsForgetsCollected(t *testing.T) {
	var cs conns
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	func() {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		cs.add(c)
		c.Close()
	}()
	if cs.len() != 1 {
		t.Fatalf("tracked %d, want 1", cs.len())
	}
	// Cleanups run in their own goroutine after a collection.
	for i := 0; i < 1000 && cs.len() > 0; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if n := cs.len(); n != 0 {
		t.Errorf("a dropped connection is still tracked (%d)", n)
	}
}
