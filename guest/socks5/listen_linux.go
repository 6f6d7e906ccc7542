package socks5

import "syscall"

// ListenControl prepares a listening socket for the proxy (pass it as
// net.ListenConfig.Control). With TCP_DEFER_ACCEPT the kernel hands over a
// connection only once the client's greeting has arrived, so accepting and
// reading the greeting take one wake-up instead of two; a client that
// sends nothing is still accepted after a second and then meets the
// handshake deadline.
func ListenControl(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
