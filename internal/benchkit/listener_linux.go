package benchkit

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ListenerPID finds the process that listens on the TCP address addr
// ("127.0.0.1:1080"), through /proc/net/tcp and the processes' fds.
func ListenerPID(addr string) (int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return 0, fmt.Errorf("listener of %q: want an IPv4 address and port", addr)
	}
	inode, err := listenInode(ap)
	if err != nil {
		return 0, err
	}
	want := fmt.Sprintf("socket:[%s]", inode)
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if link, err := os.Readlink(fd); err == nil && link == want {
			return strconv.Atoi(strings.Split(fd, "/")[2])
		}
	}
	return 0, fmt.Errorf("listener of %s: no process holds socket %s", addr, inode)
}

// listenInode returns the inode of the listening socket bound to ap.
func listenInode(ap netip.AddrPort) (string, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "", fmt.Errorf("listener of %s: %w", ap, err)
	}
	defer f.Close()
	a := ap.Addr().As4()
	// /proc/net/tcp prints the address as one host-order (little-endian
	// on every architecture this runs on) 32-bit word.
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], ap.Port())
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 9 && f[1] == local && f[3] == "0A" { // 0A: TCP_LISTEN
			return f[9], nil
		}
	}
	return "", fmt.Errorf("listener of %s: nothing listens there", ap)
}
