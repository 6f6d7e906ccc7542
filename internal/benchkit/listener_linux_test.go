package benchkit

import (
	"net"
	"os"
	"testing"
)

func TestListenerPIDFindsThisProcess(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pid, err := ListenerPID(ln.Addr().String())
	if err != nil || pid != os.Getpid() {
		t.Fatalf("pid %d, %v; want %d", pid, err, os.Getpid())
	}
	ln.Close()
	if _, err := ListenerPID(ln.Addr().String()); err == nil {
		t.Fatal("found a listener on a closed port")
	}
}
