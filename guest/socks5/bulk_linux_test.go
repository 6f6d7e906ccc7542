package socks5

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/velocitty/microvm/guest/internal/leakcheck"
)

// TestBulkTransfer relays more than bulkAfter bytes both ways at once, so
// that each direction moves on to a bulk buffer partway, or keeps
// splicing when none is free, and checks every byte and the buffers'
// return.
func TestBulkTransfer(t *testing.T) {
	for _, c := range []struct {
		name string
		hold int // bulk buffers taken before the transfer
		min  int // buffers the transfer takes: one per direction that finds
		max  int // one free, and the two may take turns with one
	}{{"buffers free", 0, 2, 2}, {"one free", 1, 1, 2}, {"none free", bulkBuffers, 0, 0}} {
		t.Run(c.name, func(t *testing.T) {
			leakcheck.Check(t)
			for range c.hold {
				_, put := takeBulk()
				defer put()
			}
			taken := bulkTaken.Load()
			const size = 3*bulkAfter + 12345
			up, down := randomBytes(size, 1), randomBytes(size+1, 2)
			// The target sends down and checks the digest of what came up.
			target, serverErr := serveOnce(t, func(s net.Conn) error {
				sent := make(chan error, 1)
				go func() {
					_, err := s.Write(down)
					s.(*net.TCPConn).CloseWrite()
					sent <- err
				}()
				h := sha256.New()
				_, err := io.Copy(h, s)
				if err == nil && !bytes.Equal(h.Sum(nil), digest(up)) {
					err = io.ErrUnexpectedEOF
				}
				if werr := <-sent; err == nil {
					err = werr
				}
				return err
			})
			addr := startProxy(t, &Server{})
			conn, code := rawConnect(t, addr, connectReq(target))
			defer conn.Close()
			if code != 0 {
				t.Fatalf("reply %#x", code)
			}
			go func() {
				conn.Write(up)
				conn.(*net.TCPConn).CloseWrite()
			}()
			got, err := io.ReadAll(conn)
			if err != nil || !bytes.Equal(digest(got), digest(down)) {
				t.Fatalf("downloaded %d of %d bytes, digest match %v: %v", len(got), len(down), bytes.Equal(digest(got), digest(down)), err)
			}
			if err := <-serverErr; err != nil {
				t.Fatalf("target: uploaded bytes differ or failed: %v", err)
			}
			conn.Close()
			if n := int(bulkTaken.Load() - taken); n < c.min || n > c.max {
				t.Errorf("the transfer took %d bulk buffers, want %d to %d", n, c.min, c.max)
			}
		})
	}
	if free, made := len(bulkFree), bulkMade.Load(); int64(free) != made {
		t.Errorf("%d bulk buffers made, %d given back", made, free)
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func digest(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
