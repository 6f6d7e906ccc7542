// Package socks5 is the guest's SOCKS5 proxy (RFC 1928): no authentication,
// CONNECT only, to IPv4, IPv6 and domain-name targets resolved in the guest.
// On Linux relayed bytes are spliced in the kernel through a pipe
// (splice_linux.go), until a long transfer moves on to a large buffer
// (bulk_linux.go); elsewhere they go through io.Copy.
//
// The upstream dialer and resolver are pluggable so that connections can be
// made from inside another network namespace (the VPN tunnel).
package socks5

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/velocitty/microvm/guest/internal/ratelimit"
)

// Dialer makes the proxy's upstream connections. *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Resolver looks up the addresses of a host name.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// Defaults of the zero Server.
const (
	DefaultMaxConns         = 1024
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultDialTimeout      = 30 * time.Second
)

// Server is a SOCKS5 proxy. Set its fields before Serve; the zero value
// dials directly with the system resolver.
type Server struct {
	// MaxConns caps concurrent proxied connections; past it a client gets
	// a general-failure reply. 0 means DefaultMaxConns.
	MaxConns int
	// HandshakeTimeout bounds the greeting and the request, against clients
	// that connect and then trickle bytes or send nothing.
	HandshakeTimeout time.Duration
	// DialTimeout bounds resolving and connecting to the target; when it
	// expires the client gets "TTL expired".
	DialTimeout time.Duration
	Logger      *slog.Logger // nil: discard

	upstream atomic.Pointer[upstream]

	active   atomic.Int64 // connections being served
	refusing atomic.Int64 // over-limit connections being refused
	limitLog ratelimit.Every
	dropped  atomic.Int64 // over-limit connections since the last log line

	mu      sync.Mutex
	closing bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// Active reports the number of connections being proxied.
func (s *Server) Active() int { return int(s.active.Load()) }

// Serve accepts connections on ln until ctx is cancelled, then closes ln
// and every connection and returns nil once all of them are done.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	log := s.log()
	closeAll := func() {
		ln.Close()
		s.mu.Lock()
		s.closing = true
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	}
	stop := context.AfterFunc(ctx, closeAll)
	defer stop()
	defer s.wg.Wait()

	maxConns := int64(s.MaxConns)
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	maxRefusing := maxConns/4 + 16
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if outOfFiles(err) {
				// Out of file descriptors: back off until some are freed.
				log.Warn("socks_accept_failed", "err", err)
				select {
				case <-time.After(50 * time.Millisecond):
					continue
				case <-ctx.Done():
					return nil
				}
			}
			closeAll()
			return fmt.Errorf("socks5 accept: %w", err)
		}
		if !s.track(c) {
			c.Close()
			continue
		}
		if s.active.Add(1) > maxConns {
			s.active.Add(-1)
			if s.refusing.Add(1) > maxRefusing {
				s.refusing.Add(-1)
				s.untrack(c)
				c.Close()
				s.noteRefused(maxConns)
				continue
			}
			s.wg.Go(func() {
				defer s.refusing.Add(-1)
				s.noteRefused(maxConns)
				s.refuse(c)
			})
			continue
		}
		s.wg.Go(func() {
			defer s.active.Add(-1)
			s.serveConn(ctx, c)
		})
	}
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// track registers c for closing at shutdown; false if shutdown began.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// noteRefused logs over-limit refusals, at most one line a second.
func (s *Server) noteRefused(limit int64) {
	n := s.dropped.Add(1)
	if !s.limitLog.Allow() {
		return
	}
	s.dropped.Add(-n)
	s.log().Warn("socks_connection_limit", "limit", limit, "refused", n)
}

// refuse answers an over-limit client with a general failure once it has
// sent its request, so it sees a SOCKS error rather than a reset.
func (s *Server) refuse(c net.Conn) {
	defer s.untrack(c)
	defer c.Close()
	timeout := min(s.handshakeTimeout(), time.Second)
	c.SetDeadline(time.Now().Add(timeout))
	h := handshake{c: c, buf: make([]byte, 0, handshakeBuf)}
	if _, err := h.readRequest(); err != nil {
		return
	}
	c.Write(appendReply(nil, ReplyGeneralFailure, netip.AddrPort{}))
}

func (s *Server) handshakeTimeout() time.Duration {
	if s.HandshakeTimeout > 0 {
		return s.HandshakeTimeout
	}
	return DefaultHandshakeTimeout
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer s.untrack(c)
	defer c.Close()
	c.SetDeadline(time.Now().Add(s.handshakeTimeout()))
	h := handshake{c: c, buf: make([]byte, 0, handshakeBuf)}
	req, err := h.readRequest()
	if err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) && pe.Reply != 0 {
			c.Write(appendReply(nil, pe.Reply, netip.AddrPort{}))
		}
		s.log().Debug("socks_handshake_failed", "client", c.RemoteAddr().String(), "err", err)
		return
	}
	if req.Cmd != CmdConnect {
		c.Write(appendReply(nil, ReplyCommandNotSupported, netip.AddrPort{}))
		s.log().Debug("socks_command_not_supported", "cmd", req.Cmd)
		return
	}
	up, err := s.dial(ctx, req)
	if err != nil {
		code := ReplyFor(err)
		c.Write(appendReply(nil, code, netip.AddrPort{}))
		s.log().Debug("socks_connect_failed", "target", req.Target(), "reply", code, "err", err)
		return
	}
	if !s.track(up) {
		up.Close()
		return
	}
	defer s.untrack(up)
	defer up.Close()

	bound, _ := netip.ParseAddrPort(up.LocalAddr().String())
	if _, err := c.Write(appendReply(make([]byte, 0, 22), ReplySucceeded, bound)); err != nil {
		return
	}
	if len(h.buf) > 0 {
		// The client sent data before our reply: forward it first.
		if _, err := up.Write(h.buf); err != nil {
			return
		}
	}
	c.SetDeadline(time.Time{})
	relay(c, up)
}
