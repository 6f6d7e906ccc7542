package socks5

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
)

// ReplyFor maps a dial or resolve error to the SOCKS5 reply code that tells
// the client what happened.
func ReplyFor(err error) byte {
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		return ReplySucceeded
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReplyConnectionRefused
	case errors.Is(err, syscall.ENETUNREACH):
		return ReplyNetworkUnreachable
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return ReplyHostUnreachable
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ReplyTTLExpired
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return ReplyNotAllowed
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return ReplyTTLExpired
		}
		return ReplyHostUnreachable
	case errors.Is(err, errNoAddress):
		return ReplyHostUnreachable
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReplyTTLExpired
	}
	return ReplyGeneralFailure
}

var errNoAddress = errors.New("no address for host")
