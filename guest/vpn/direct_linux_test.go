package vpn

import (
	"net"
	"syscall"
	"testing"
)

// Direct dials carry no TCP keepalive: the proxied client has its own,
// and four setsockopt calls per connection show in the proxy's rate.
func TestDirectDialHasNoKeepalive(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sup := New(Config{})
	c, err := sup.DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var on int
	var serr error
	raw.Control(func(fd uintptr) { on, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) })
	if serr != nil || on != 0 {
		t.Fatalf("SO_KEEPALIVE = %d (%v), want 0", on, serr)
	}
}
