package socks5

import (
	"io"
	"net"
)

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
	_, ok, err := copyConn(dst, src)
	if !ok {
		_, err = io.Copy(dst, src)
	}
	if err != nil {
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
