package socks5

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// Protocol constants of RFC 1928.
const (
	version5 = 0x05

	methodNoAuth       = 0x00
	methodNoAcceptable = 0xFF

	CmdConnect      = 0x01
	CmdBind         = 0x02
	CmdUDPAssociate = 0x03

	AtypIPv4   = 0x01
	AtypDomain = 0x03
	AtypIPv6   = 0x04
)

// Reply codes (RFC 1928 §6).
const (
	ReplySucceeded           byte = 0x00
	ReplyGeneralFailure      byte = 0x01
	ReplyNotAllowed          byte = 0x02
	ReplyNetworkUnreachable  byte = 0x03
	ReplyHostUnreachable     byte = 0x04
	ReplyConnectionRefused   byte = 0x05
	ReplyTTLExpired          byte = 0x06
	ReplyCommandNotSupported byte = 0x07
	ReplyAddrNotSupported    byte = 0x08
)

// errShort means the buffer does not yet hold a whole message.
var errShort = errors.New("socks5: short message")

// ProtocolError is a malformed or unsupported client message. Reply is the
// code to answer with, or 0 when the message cannot be answered at all (for
// example a version other than 5) and the connection is just closed.
type ProtocolError struct {
	Reply byte
	Msg   string
}

func (e *ProtocolError) Error() string { return "socks5: " + e.Msg }

// Request is a parsed SOCKS5 request.
type Request struct {
	Cmd  byte
	Addr netip.Addr // set for ATYP IPv4 and IPv6
	Host string     // set for ATYP domain name
	Port uint16
}

// Target is host:port for dialing or logging.
func (r Request) Target() string {
	p := strconv.Itoa(int(r.Port))
	if r.Host != "" {
		return netJoin(r.Host, p)
	}
	return netJoin(r.Addr.String(), p)
}

func netJoin(host, port string) string {
	for i := 0; i < len(host); i++ {
		if host[i] == ':' {
			return "[" + host + "]:" + port
		}
	}
	return host + ":" + port
}

// ParseGreeting parses the client's method-selection message at the start
// of b. It returns whether the no-authentication method is offered and the
// length of the message, or errShort if b holds only part of it.
func ParseGreeting(b []byte) (noAuth bool, n int, err error) {
	if len(b) < 1 {
		return false, 0, errShort
	}
	if b[0] != version5 {
		return false, 0, &ProtocolError{Msg: fmt.Sprintf("unsupported version %d", b[0])}
	}
	if len(b) < 2 {
		return false, 0, errShort
	}
	n = 2 + int(b[1])
	if len(b) < n {
		return false, 0, errShort
	}
	for _, m := range b[2:n] {
		if m == methodNoAuth {
			noAuth = true
		}
	}
	return noAuth, n, nil
}

// ParseRequest parses a request at the start of b and returns it with its
// length, errShort if b holds only part of it, or a *ProtocolError. The
// command is parsed, not judged: callers refuse commands they do not serve.
func ParseRequest(b []byte) (Request, int, error) {
	var r Request
	if len(b) < 1 {
		return r, 0, errShort
	}
	if b[0] != version5 {
		return r, 0, &ProtocolError{Reply: ReplyGeneralFailure, Msg: fmt.Sprintf("request version %d", b[0])}
	}
	if len(b) < 4 {
		return r, 0, errShort
	}
	r.Cmd = b[1]
	// b[2] is reserved; RFC 1928 says 0 but clients are not punished for it.
	var n int
	switch b[3] {
	case AtypIPv4:
		n = 4 + 4 + 2
		if len(b) < n {
			return r, 0, errShort
		}
		r.Addr = netip.AddrFrom4([4]byte(b[4:8]))
	case AtypIPv6:
		n = 4 + 16 + 2
		if len(b) < n {
			return r, 0, errShort
		}
		r.Addr = netip.AddrFrom16([16]byte(b[4:20]))
	case AtypDomain:
		if len(b) < 5 {
			return r, 0, errShort
		}
		l := int(b[4])
		n = 5 + l + 2
		if len(b) < n {
			return r, 0, errShort
		}
		if l == 0 {
			return r, 0, &ProtocolError{Reply: ReplyGeneralFailure, Msg: "empty domain name"}
		}
		host := string(b[5 : 5+l])
		for i := 0; i < len(host); i++ {
			if c := host[i]; c <= ' ' || c == 0x7f {
				return r, 0, &ProtocolError{Reply: ReplyHostUnreachable, Msg: "invalid domain name"}
			}
		}
		r.Host = host
	default:
		return r, 0, &ProtocolError{Reply: ReplyAddrNotSupported, Msg: fmt.Sprintf("address type %d", b[3])}
	}
	r.Port = uint16(b[n-2])<<8 | uint16(b[n-1])
	return r, n, nil
}

// AppendRequest appends the wire form of r to b. It is the inverse of
// ParseRequest, used by tests and clients.
func AppendRequest(b []byte, r Request) []byte {
	b = append(b, version5, r.Cmd, 0)
	switch {
	case r.Host != "":
		b = append(b, AtypDomain, byte(len(r.Host)))
		b = append(b, r.Host...)
	case r.Addr.Is4():
		a := r.Addr.As4()
		b = append(b, AtypIPv4)
		b = append(b, a[:]...)
	default:
		a := r.Addr.As16()
		b = append(b, AtypIPv6)
		b = append(b, a[:]...)
	}
	return append(b, byte(r.Port>>8), byte(r.Port))
}

// appendReply appends a reply with the bound address addr (IPv4 0.0.0.0:0
// when invalid).
func appendReply(b []byte, code byte, addr netip.AddrPort) []byte {
	b = append(b, version5, code, 0)
	ip := addr.Addr().Unmap()
	switch {
	case ip.Is4():
		a := ip.As4()
		b = append(b, AtypIPv4)
		b = append(b, a[:]...)
	case ip.Is6():
		a := ip.As16()
		b = append(b, AtypIPv6)
		b = append(b, a[:]...)
	default:
		b = append(b, AtypIPv4, 0, 0, 0, 0)
	}
	p := addr.Port()
	return append(b, byte(p>>8), byte(p))
}
