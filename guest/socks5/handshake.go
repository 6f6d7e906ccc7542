package socks5

import (
	"errors"
	"io"
	"net"
)

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
