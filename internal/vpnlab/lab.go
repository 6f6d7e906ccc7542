//go:build linux

package vpnlab

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Fixed addresses inside the lab's own namespaces. They exist nowhere else:
// the test's namespace never gets a route to them.
var (
	poolPrefix   = netip.MustParsePrefix("10.8.0.0/24")   // VPN clients
	pool6Prefix  = netip.MustParsePrefix("fdcc:8::/64")   // VPN clients, IPv6
	remotePrefix = netip.MustParsePrefix("10.9.0.0/24")   // behind the server
	serverInside = netip.MustParseAddr("10.9.0.1")        // server's leg, runs DNS
	remoteAddr   = netip.MustParseAddr("10.9.0.2")        // HTTP and sshd
	linkBase     = netip.MustParsePrefix("172.31.0.0/16") // /30 links picked from here
)

// RemoteName is the name the lab's DNS server answers with the remote's
// address.
const RemoteName = "remote.vpn.test"

// Options shape a lab. The zero value is a UDP server with IPv6 in the pool.
type Options struct {
	Proto       string // "udp" (default) or "tcp"
	NoIPv6      bool   // no IPv6 pool
	PingRestart int    // seconds pushed to clients as ping-restart; default 5
	SSH         bool   // run an sshd on the remote (needs /usr/sbin/sshd)
}

// Lab is a running OpenVPN server with a remote behind it.
type Lab struct {
	ClientConfig string         // .ovpn text, certificates and keys inline
	Username     string         // accepted by the server
	Password     string         // accepted by the server
	Server       netip.AddrPort // where clients in the test's namespace connect
	RemoteName   string         // resolves to RemoteIP through the pushed DNS
	RemoteIP     netip.Addr     // the remote, reachable only through the VPN
	HTTPAddr     netip.AddrPort // the remote's HTTP server
	SSHAddr      netip.AddrPort // the remote's sshd when Options.SSH
	SSHKey       string         // private key file accepted by the sshd for SSHUser
	SSHUser      string
	DNS          netip.Addr   // pushed DNS server
	Pool         netip.Prefix // addresses handed to VPN clients
	ServerNS     string       // namespace of the OpenVPN server
	RemoteNS     string       // namespace of the remote
	HostLink     string       // the veth end in the test's namespace

	t        testing.TB
	opts     Options
	dir      string
	id       string
	nsPrefix string // of the lab's namespaces: vpnlab-<pid>-<seq>-
	pki      *pki
	mu       sync.Mutex
	server   *proc
	bare     int
}

var labSeq atomic.Int32

// New builds a lab for t and removes it when t ends. It skips t when it is
// not running as root or a program the lab needs is missing.
func New(t testing.TB, opts Options) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("vpnlab: needs root for network namespaces")
	}
	need := []string{"openvpn", "dnsmasq", "ip"}
	if opts.SSH {
		need = append(need, "sshd", "ssh-keygen")
	}
	for _, prog := range need {
		if _, err := lookPath(prog); err != nil {
			t.Skipf("vpnlab: %s not installed", prog)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("vpnlab: /dev/net/tun missing")
	}
	if opts.Proto == "" {
		opts.Proto = "udp"
	}
	if opts.Proto != "udp" && opts.Proto != "tcp" {
		t.Fatalf("vpnlab: proto %q: want udp or tcp", opts.Proto)
	}
	if opts.PingRestart <= 0 {
		opts.PingRestart = 5
	}
	sweep(t)
	seq := labSeq.Add(1)
	id := fmt.Sprintf("%04x%02x", os.Getpid()&0xffff, seq&0xff)
	nsPrefix := fmt.Sprintf("vpnlab-%d-%d-", os.Getpid(), seq)
	l := &Lab{
		Username:   "alice",
		Password:   "s3cret \"pa ss\\" + randHex(4),
		RemoteName: RemoteName,
		RemoteIP:   remoteAddr,
		HTTPAddr:   netip.AddrPortFrom(remoteAddr, 80),
		DNS:        serverInside,
		Pool:       poolPrefix,
		ServerNS:   nsPrefix + "srv",
		RemoteNS:   nsPrefix + "rem",
		HostLink:   "vl" + id + "h",
		t:          t,
		opts:       opts,
		dir:        t.TempDir(),
		id:         id,
		nsPrefix:   nsPrefix,
	}
	if err := l.build(); err != nil {
		t.Fatalf("vpnlab: %v", err)
	}
	return l
}

func lookPath(prog string) (string, error) {
	if p, err := exec.LookPath(prog); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, prog)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found", prog)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// build creates the namespaces, links and processes, registering cleanups
// as it goes so that a failure half way leaves nothing behind.
func (l *Lab) build() error {
	var err error
	if l.pki, err = newPKI(); err != nil {
		return err
	}
	for _, ns := range []string{l.ServerNS, l.RemoteNS} {
		if err := addNetns(ns); err != nil {
			return err
		}
		l.t.Cleanup(func() {
			if err := delNetns(ns); err != nil {
				l.t.Errorf("vpnlab cleanup: %v", err)
			}
		})
	}
	link, err := pickLink()
	if err != nil {
		return err
	}
	hostAddr, srvAddr := link.Addr().Next(), link.Addr().Next().Next()
	l.Server = netip.AddrPortFrom(srvAddr, 1194)
	// The host end lives in our namespace; deleting the namespace on the
	// other end would remove it too, but be explicit.
	l.t.Cleanup(func() { ip("link", "del", l.HostLink) })
	if err := l.veth(l.HostLink, "", hostAddr, link.Bits(), "vl"+l.id+"s", l.ServerNS, srvAddr); err != nil {
		return err
	}
	srvRemote := "vl" + l.id + "r"
	if err := l.veth(srvRemote, l.ServerNS, serverInside, remotePrefix.Bits(), "vl"+l.id+"q", l.RemoteNS, remoteAddr); err != nil {
		return err
	}
	// The remote answers VPN clients through the server, which forwards.
	if err := ip("-n", l.RemoteNS, "route", "add", poolPrefix.String(), "via", serverInside.String()); err != nil {
		return err
	}
	if !l.opts.NoIPv6 {
		if err := sysctlIn(l.ServerNS, "net.ipv6.conf.all.forwarding", "1"); err != nil {
			return err
		}
	}
	if err := sysctlIn(l.ServerNS, "net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	if err := l.startDNS(); err != nil {
		return err
	}
	if err := l.startHTTP(); err != nil {
		return err
	}
	if l.opts.SSH {
		if err := l.startSSH(); err != nil {
			return err
		}
	}
	if err := l.writeServerFiles(); err != nil {
		return err
	}
	l.ClientConfig = l.clientConfig(l.Server)
	l.t.Cleanup(l.StopServer)
	return l.startServer()
}

// veth links two namespaces ("" is the test's own) with a pair of addresses.
func (l *Lab) veth(a, nsA string, addrA netip.Addr, bits int, b, nsB string, addrB netip.Addr) error {
	args := []string{"link", "add", a}
	if nsA != "" {
		args = append([]string{"-n", nsA}, args...)
	}
	args = append(args, "type", "veth", "peer", "name", b, "netns", nsB)
	if err := ip(args...); err != nil {
		return err
	}
	for _, end := range []struct {
		ns, dev string
		addr    netip.Addr
	}{{nsA, a, addrA}, {nsB, b, addrB}} {
		pre := []string{}
		if end.ns != "" {
			pre = []string{"-n", end.ns}
		}
		if err := ip(append(pre, "addr", "add", netip.PrefixFrom(end.addr, bits).String(), "dev", end.dev)...); err != nil {
			return err
		}
		if err := ip(append(pre, "link", "set", end.dev, "up")...); err != nil {
			return err
		}
	}
	return nil
}

// pickLink chooses a random /30 in linkBase that no route of the test's
// namespace overlaps.
func pickLink() (netip.Prefix, error) {
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("ip route: %w", err)
	}
	var used []netip.Prefix
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if p, err := netip.ParsePrefix(f[0]); err == nil {
			used = append(used, p)
		} else if a, err := netip.ParseAddr(f[0]); err == nil {
			used = append(used, netip.PrefixFrom(a, 32))
		}
	}
	base := linkBase.Addr().As4()
	for range 64 {
		var r [2]byte
		rand.Read(r[:])
		n := binary.BigEndian.Uint16(r[:]) &^ 3
		a := base
		a[2], a[3] = byte(n>>8), byte(n)
		p := netip.PrefixFrom(netip.AddrFrom4(a), 30)
		free := true
		for _, u := range used {
			if u.Bits() > 0 && u.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free /30 in %s", linkBase)
}

// AuthAttempts is how many times a client presented credentials.
func (l *Lab) AuthAttempts() int {
	b, err := os.ReadFile(filepath.Join(l.dir, "attempts"))
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}
