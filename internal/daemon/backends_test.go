package daemon

import "testing"

func TestAgentPoolReusesClients(t *testing.T) {
	p := newAgentPool()
	a := p.dial("127.0.0.1:1025", "t1")
	if b := p.dial("127.0.0.1:1025", "t1"); a != b {
		t.Fatal("a second dial of the same agent built a new client")
	}
	if c := p.dial("127.0.0.1:1025", "t2"); c == a || len(p.clients) != 1 {
		t.Fatalf("a new token kept the stale client: %d clients", len(p.clients))
	}
	p.dial("127.0.0.1:2025", "t3")
	if len(p.clients) != 2 {
		t.Fatalf("%d clients for two agents", len(p.clients))
	}
}
