// Package socks5 is the guest's SOCKS5 proxy (RFC 1928): no authentication,
// CONNECT only, to IPv4, IPv6 and domain-name targets resolved in the guest.
// Relayed bytes go through io.Copy between the bare *net.TCPConn values, so
// on Linux they are spliced in the kernel and never copied to user space.
//
// The upstream dialer and resolver are pluggable so that connections can be
// made from inside another network namespace (the VPN tunnel).
package socks5

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
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
	lastWarn atomic.Int64 // unix nanos of the last over-limit log line
	dropped  atomic.Int64 // over-limit connections since that line

	mu      sync.Mutex
	closing bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

type upstream struct {
	dial    Dialer
	resolve Resolver
}

// SetUpstream replaces how the proxy reaches targets, for connections
// accepted from now on. A nil dialer or resolver means the direct default.
func (s *Server) SetUpstream(d Dialer, r Resolver) {
	s.upstream.Store(&upstream{dial: d, resolve: r})
}

// defaultDialer connects directly. No TCP keepalive: the client side (an
// SSH client, typically) has its own, and a dead client ends both conns.
var defaultDialer = &net.Dialer{KeepAlive: -1}

func defaultResolve(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
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
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if now-last < int64(time.Second) || !s.lastWarn.CompareAndSwap(last, now) {
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

// handshakeBuf is the size of the buffer the greeting and request are read
// into: more than either message can take (257 and 262 bytes).
const handshakeBuf = 512

// handshake reads the client's greeting and request from c through buf.
type handshake struct {
	c   net.Conn
	buf []byte
}

// next reads until parse accepts a prefix of buf, then consumes it.
func (h *handshake) next(parse func([]byte) (int, error)) error {
	for {
		n, err := parse(h.buf)
		if err == nil {
			h.buf = h.buf[n:]
			return nil
		}
		if err != errShort {
			return err
		}
		if len(h.buf) == cap(h.buf) {
			// The start of buf was consumed (a greeting): move the rest
			// to a fresh buffer. A message is at most 262 bytes, so an
			// unparsed one always fits with room to spare.
			nb := make([]byte, len(h.buf), handshakeBuf)
			copy(nb, h.buf)
			h.buf = nb
		}
		m, rerr := h.c.Read(h.buf[len(h.buf):cap(h.buf)])
		h.buf = h.buf[:len(h.buf)+m]
		if rerr != nil && m == 0 {
			if rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return rerr
		}
	}
}

// readRequest runs the greeting exchange and returns the request.
func (h *handshake) readRequest() (Request, error) {
	var noAuth bool
	err := h.next(func(b []byte) (int, error) {
		ok, n, err := ParseGreeting(b)
		noAuth = ok
		return n, err
	})
	if err != nil {
		return Request{}, err
	}
	if !noAuth {
		h.c.Write([]byte{version5, methodNoAcceptable})
		return Request{}, errNoAcceptableMethod
	}
	if _, err := h.c.Write([]byte{version5, methodNoAuth}); err != nil {
		return Request{}, err
	}
	var req Request
	err = h.next(func(b []byte) (int, error) {
		r, n, err := ParseRequest(b)
		req = r
		return n, err
	})
	return req, err
}

var errNoAcceptableMethod = errors.New("socks5: client offers no acceptable method")

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

// dial connects to the request's target, resolving a domain name first and
// trying each of its addresses in turn.
func (s *Server) dial(ctx context.Context, req Request) (net.Conn, error) {
	var d Dialer = defaultDialer
	resolve := Resolver(defaultResolve)
	if u := s.upstream.Load(); u != nil {
		if u.dial != nil {
			d = u.dial
		}
		if u.resolve != nil {
			resolve = u.resolve
		}
	}
	timeout := s.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	addr := req.Addr
	if req.Host != "" {
		if ip, err := netip.ParseAddr(req.Host); err == nil {
			addr = ip
		} else {
			addrs, err := resolve(ctx, req.Host)
			if err != nil {
				return nil, fmt.Errorf("resolve %s: %w", req.Host, err)
			}
			if len(addrs) == 0 {
				return nil, fmt.Errorf("resolve %s: %w", req.Host, errNoAddress)
			}
			var first error
			for _, a := range addrs {
				c, err := d.DialContext(ctx, "tcp", addrPort(a, req.Port))
				if err == nil {
					return c, nil
				}
				if first == nil {
					first = err
				}
				if ctx.Err() != nil {
					break
				}
			}
			return nil, first
		}
	}
	return d.DialContext(ctx, "tcp", addrPort(addr, req.Port))
}

func addrPort(a netip.Addr, port uint16) string {
	a = a.Unmap()
	if a.Is4() {
		return a.String() + ":" + strconv.Itoa(int(port))
	}
	return "[" + a.String() + "]:" + strconv.Itoa(int(port))
}

type closeWriter interface{ CloseWrite() error }

// relay copies both ways until both sides are done. A clean end of one
// direction is passed on as a half-close; an error aborts both.
func relay(client, up net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipe(up, client)
	}()
	pipe(client, up)
	<-done
}

func pipe(dst, src net.Conn) {
	// io.Copy between two *net.TCPConn splices on Linux.
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		src.Close()
		return
	}
	if cw, ok := dst.(closeWriter); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	dst.Close()
}
