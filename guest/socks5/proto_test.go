package socks5

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func TestParseRequest(t *testing.T) {
	for _, r := range []Request{
		{Cmd: CmdConnect, Addr: netip.MustParseAddr("10.1.2.3"), Port: 443},
		{Cmd: CmdConnect, Addr: netip.MustParseAddr("2001:db8::1"), Port: 22},
		{Cmd: CmdConnect, Host: "example.com", Port: 80},
		{Cmd: CmdBind, Host: "x", Port: 0},
	} {
		b := AppendRequest(nil, r)
		got, n, err := ParseRequest(append(b, "extra"...))
		if err != nil || n != len(b) || got != r {
			t.Errorf("%+v: got %+v n=%d err=%v", r, got, n, err)
		}
		for i := range len(b) {
			if _, _, err := ParseRequest(b[:i]); err != errShort {
				t.Errorf("%+v truncated to %d: %v, want errShort", r, i, err)
			}
		}
	}
	var pe *ProtocolError
	if _, _, err := ParseRequest([]byte{5, 1, 0, 7, 0, 0}); !errors.As(err, &pe) || pe.Reply != ReplyAddrNotSupported {
		t.Errorf("atyp 7: %v", err)
	}
	if _, _, err := ParseRequest([]byte{5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80}); !errors.As(err, &pe) {
		t.Errorf("NUL in host: %v", err)
	}
	if got := (Request{Addr: netip.MustParseAddr("::1"), Port: 80}).Target(); got != "[::1]:80" {
		t.Errorf("Target: %s", got)
	}
}

func TestParseGreeting(t *testing.T) {
	ok, n, err := ParseGreeting([]byte{5, 2, 2, 0, 9})
	if !ok || n != 4 || err != nil {
		t.Errorf("got %v %d %v", ok, n, err)
	}
	if _, _, err := ParseGreeting([]byte{5, 2, 0}); err != errShort {
		t.Errorf("short: %v", err)
	}
	if _, _, err := ParseGreeting([]byte{4}); err == nil || err == errShort {
		t.Errorf("v4: %v", err)
	}
}

func TestReply(t *testing.T) {
	got := appendReply(nil, ReplySucceeded, netip.MustParseAddrPort("127.0.0.1:1080"))
	if !bytes.Equal(got, []byte{5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38}) {
		t.Errorf("v4 reply %x", got)
	}
	got = appendReply(nil, ReplyHostUnreachable, netip.AddrPort{})
	if !bytes.Equal(got, []byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("failure reply %x", got)
	}
	if got := appendReply(nil, 0, netip.MustParseAddrPort("[::1]:1")); len(got) != 22 || got[3] != AtypIPv6 {
		t.Errorf("v6 reply %x", got)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add(AppendRequest(nil, Request{Cmd: CmdConnect, Addr: netip.MustParseAddr("127.0.0.1"), Port: 80}))
	f.Add(AppendRequest(nil, Request{Cmd: CmdConnect, Addr: netip.MustParseAddr("::1"), Port: 443}))
	f.Add(AppendRequest(nil, Request{Cmd: CmdConnect, Host: "example.com", Port: 8080}))
	f.Add(AppendRequest(nil, Request{Cmd: CmdUDPAssociate, Host: "a", Port: 53}))
	f.Add([]byte{5, 1, 0, 3, 0, 0, 80})
	f.Add([]byte{5, 1, 0, 8})
	f.Add([]byte{4, 1, 0, 80, 1, 2, 3, 4, 0})
	f.Add([]byte{5, 1, 0, 3, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := ParseRequest(b)
		if err != nil {
			var pe *ProtocolError
			if err != errShort && !errors.As(err, &pe) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d of %d", n, len(b))
		}
		if r.Host == "" && !r.Addr.IsValid() {
			t.Fatalf("no target: %+v", r)
		}
		// Re-encoding gives back the same message (the reserved byte aside).
		enc := AppendRequest(nil, r)
		want := append([]byte(nil), b[:n]...)
		want[2] = 0
		if !bytes.Equal(enc, want) {
			t.Fatalf("re-encoded %x, want %x", enc, want)
		}
		_ = r.Target()
	})
}

func FuzzParseGreeting(f *testing.F) {
	f.Add([]byte{5, 1, 0})
	f.Add([]byte{5, 0})
	f.Add([]byte{5, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, n, err := ParseGreeting(b)
		if err == nil && (n < 2 || n > len(b)) {
			t.Fatalf("length %d of %d", n, len(b))
		}
	})
}
