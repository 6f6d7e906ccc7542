package socks5

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/velocitty/microvm/guest/internal/leakcheck"
)

// startProxy runs s on a fresh loopback port until the test ends.
func startProxy(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func origin(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	leakcheck.Check(t)
	srv := origin(t)
	addr := startProxy(t, &Server{})
	for _, mode := range []string{"--socks5-hostname", "--socks5"} {
		for _, host := range []string{srv.Listener.Addr().String(), strings.Replace(srv.Listener.Addr().String(), "127.0.0.1", "localhost", 1)} {
			out, err := exec.Command("curl", "-sS", "--max-time", "10", mode, addr, "http://"+host+"/curl").CombinedOutput()
			if err != nil || string(out) != "hello /curl" {
				t.Errorf("curl %s via %s: %v: %s", mode, host, err, out)
			}
		}
	}
}

func TestXNetProxy(t *testing.T) {
	leakcheck.Check(t)
	srv := origin(t)
	addr := startProxy(t, &Server{})
	d, err := proxy.SOCKS5("tcp", addr, nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, host := range []string{"127.0.0.1", "localhost"} {
		tr := &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext}
		resp, err := (&http.Client{Transport: tr}).Get("http://" + net.JoinHostPort(host, port) + "/xnet")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if string(body) != "hello /xnet" {
			t.Errorf("%s: body %q", host, body)
		}
	}
}

func TestIPv6Target(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	leakcheck.Check(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "v6") }))
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	addr := startProxy(t, &Server{})
	d, _ := proxy.SOCKS5("tcp", addr, nil, proxy.Direct)
	tr := &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "v6" {
		t.Fatalf("body %q", body)
	}
}

// serveOnce listens on a fresh loopback port, hands the first connection
// to serve, closes it after, and reports serve's error on the channel.
func serveOnce(t *testing.T, serve func(net.Conn) error) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		done <- serve(c)
	}()
	return ln.Addr().String(), done
}

// rawClient does the SOCKS5 exchange by hand and returns the reply code.
func rawConnect(t *testing.T, proxyAddr string, req []byte) (net.Conn, byte) {
	t.Helper()
	c, err := net.Dial("tcp4", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte{5, 1, 0}); err != nil {
		t.Fatal(err)
	}
	var m [2]byte
	if _, err := io.ReadFull(c, m[:]); err != nil || m != [2]byte{5, 0} {
		t.Fatalf("method reply %x %v", m, err)
	}
	c.Write(req)
	var rep [10]byte
	if _, err := io.ReadFull(c, rep[:4]); err != nil {
		t.Fatalf("reply: %v", err)
	}
	n := 6
	if rep[3] == AtypIPv6 {
		n = 18
	}
	rest := make([]byte, n)
	if _, err := io.ReadFull(c, rest); err != nil {
		t.Fatalf("reply address: %v", err)
	}
	return c, rep[1]
}

func connectReq(target string) []byte {
	ap := netip.MustParseAddrPort(target)
	return AppendRequest(nil, Request{Cmd: CmdConnect, Addr: ap.Addr(), Port: ap.Port()})
}

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (f dialFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

func TestReplyCodes(t *testing.T) {
	leakcheck.Check(t)
	// A port nobody listens on.
	ln, _ := net.Listen("tcp4", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()

	direct := startProxy(t, &Server{})
	errDial := func(err error) string {
		s := &Server{DialTimeout: 100 * time.Millisecond}
		s.SetUpstream(dialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			if err == nil {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}), nil)
		return startProxy(t, s)
	}
	noDNS := &Server{}
	noDNS.SetUpstream(nil, func(ctx context.Context, host string) ([]netip.Addr, error) {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	})
	noDNSAddr := startProxy(t, noDNS)

	domain := AppendRequest(nil, Request{Cmd: CmdConnect, Host: "nowhere.invalid", Port: 80})
	for _, tc := range []struct {
		name  string
		proxy string
		req   []byte
		want  byte
	}{
		{"refused", direct, connectReq(closed), ReplyConnectionRefused},
		{"net unreachable", errDial(errnoENETUNREACH), connectReq("192.0.2.1:80"), ReplyNetworkUnreachable},
		{"host unreachable", errDial(errnoEHOSTUNREACH), connectReq("192.0.2.1:80"), ReplyHostUnreachable},
		{"timeout", errDial(nil), connectReq("192.0.2.1:80"), ReplyTTLExpired},
		{"resolve fails", noDNSAddr, domain, ReplyHostUnreachable},
		{"bind", direct, AppendRequest(nil, Request{Cmd: CmdBind, Addr: netip.MustParseAddr("127.0.0.1"), Port: 1}), ReplyCommandNotSupported},
		{"udp associate", direct, AppendRequest(nil, Request{Cmd: CmdUDPAssociate, Addr: netip.MustParseAddr("127.0.0.1"), Port: 1}), ReplyCommandNotSupported},
		{"address type", direct, []byte{5, 1, 0, 9, 1, 2, 3, 4, 0, 80}, ReplyAddrNotSupported},
		{"empty domain", direct, []byte{5, 1, 0, 3, 0, 0, 80}, ReplyGeneralFailure},
		{"bad version", direct, []byte{4, 1, 0, 1, 127, 0, 0, 1, 0, 80}, ReplyGeneralFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, code := rawConnect(t, tc.proxy, tc.req)
			defer c.Close()
			if code != tc.want {
				t.Fatalf("reply %#x, want %#x", code, tc.want)
			}
			// The proxy closes after a failure reply.
			if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Fatalf("after failure: read %d, %v", n, err)
			}
		})
	}
}

func TestGreetingRefusals(t *testing.T) {
	leakcheck.Check(t)
	addr := startProxy(t, &Server{HandshakeTimeout: 300 * time.Millisecond})
	exchange := func(send []byte) ([]byte, error) {
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(send)
		return io.ReadAll(c)
	}
	// Only username/password offered: 0xFF, then close.
	if got, err := exchange([]byte{5, 1, 2}); err != nil || !bytes.Equal(got, []byte{5, 0xFF}) {
		t.Errorf("no acceptable method: %x %v", got, err)
	}
	// No method at all.
	if got, err := exchange([]byte{5, 0}); err != nil || !bytes.Equal(got, []byte{5, 0xFF}) {
		t.Errorf("zero methods: %x %v", got, err)
	}
	// SOCKS4 or garbage: closed without an answer.
	for _, b := range [][]byte{{4, 1, 0, 80, 127, 0, 0, 1, 0}, []byte("GET / HTTP/1.1\r\n\r\n")} {
		if got, err := exchange(b); err != nil || len(got) != 0 {
			t.Errorf("%q: %x %v", b, got, err)
		}
	}
	// Slowloris: a partial greeting is dropped at the handshake deadline.
	start := time.Now()
	if got, err := exchange([]byte{5, 3, 0}); err != nil || len(got) != 0 {
		t.Errorf("partial greeting: %x %v", got, err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("partial greeting held for %v, want about 300ms", d)
	}
}

// TestEarlyData checks bytes sent before the CONNECT reply reach the target.
func TestEarlyData(t *testing.T) {
	leakcheck.Check(t)
	srv := origin(t)
	addr := startProxy(t, &Server{})
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	msg := []byte{5, 1, 0}
	msg = append(msg, connectReq(srv.Listener.Addr().String())...)
	msg = append(msg, "GET /early HTTP/1.0\r\n\r\n"...)
	c.Write(msg)
	got, _ := io.ReadAll(c)
	if !bytes.HasPrefix(got, []byte{5, 0, 5, 0, 0, 1}) || !bytes.HasSuffix(got, []byte("hello /early")) {
		t.Fatalf("got %q", got)
	}
}

// TestHalfClose checks that a FIN from either side reaches the other while
// the opposite direction keeps flowing.
func TestHalfClose(t *testing.T) {
	leakcheck.Check(t)
	target, serverDone := serveOnce(t, func(c net.Conn) error {
		// Read the client's whole upload (until its FIN), then answer.
		got, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		c.Write(append([]byte("got "), got...))
		c.(*net.TCPConn).CloseWrite()
		// The client can still send after our FIN? No: it closed. Wait for close.
		io.Copy(io.Discard, c)
		return nil
	})
	addr := startProxy(t, &Server{})
	c, code := rawConnect(t, addr, connectReq(target))
	defer c.Close()
	if code != 0 {
		t.Fatalf("reply %#x", code)
	}
	c.Write([]byte("upload"))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "got upload" {
		t.Fatalf("got %q %v", got, err)
	}
	c.Close()
	if err := <-serverDone; err != nil {
		t.Fatal(err)
	}
}

func TestConnLimit(t *testing.T) {
	leakcheck.Check(t)
	srv := origin(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	s := &Server{MaxConns: 2, Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))}
	addr := startProxy(t, s)
	target := connectReq(srv.Listener.Addr().String())
	a, code := rawConnect(t, addr, target)
	defer a.Close()
	b, code2 := rawConnect(t, addr, target)
	defer b.Close()
	if code != 0 || code2 != 0 {
		t.Fatalf("first two: %#x %#x", code, code2)
	}
	c, code := rawConnect(t, addr, target)
	c.Close()
	if code != ReplyGeneralFailure {
		t.Fatalf("third: %#x, want general failure", code)
	}
	mu.Lock()
	if !strings.Contains(logs.String(), "socks_connection_limit") {
		t.Errorf("no log line for the refusal: %q", logs.String())
	}
	mu.Unlock()
	// Capacity comes back once a connection ends.
	a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for s.Active() > 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	d, code := rawConnect(t, addr, target)
	d.Close()
	if code != 0 {
		t.Fatalf("after a slot freed: %#x", code)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestParallel(t *testing.T) {
	leakcheck.Check(t)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(payload) }))
	defer srv.Close()
	addr := startProxy(t, &Server{})
	d, _ := proxy.SOCKS5("tcp", addr, nil, proxy.Direct)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			c, err := d.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
			got, err := io.ReadAll(c)
			if err != nil {
				errs <- err
				return
			}
			if !bytes.HasSuffix(got, payload) {
				errs <- fmt.Errorf("short body: %d bytes", len(got))
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestShutdownClosesConns checks that cancelling Serve ends relayed
// connections instead of waiting for them.
func TestShutdownClosesConns(t *testing.T) {
	leakcheck.Check(t)
	ln, _ := net.Listen("tcp4", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	pl, _ := net.Listen("tcp4", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Server{}).Serve(ctx, pl) }()
	c, code := rawConnect(t, pl.Addr().String(), connectReq(ln.Addr().String()))
	defer c.Close()
	if code != 0 {
		t.Fatalf("reply %#x", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("client conn still open")
	}
	if !errors.Is(context.Cause(ctx), context.Canceled) {
		t.Fatal(ctx.Err())
	}
}

// TestLongestHandshake sends the longest greeting and the longest request
// in one write, which fills the handshake buffer past its first message.
func TestLongestHandshake(t *testing.T) {
	leakcheck.Check(t)
	host := strings.Repeat("a", 250) + ".test"
	s := &Server{}
	s.SetUpstream(dialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errnoEHOSTUNREACH}
	}), func(ctx context.Context, h string) ([]netip.Addr, error) {
		if h != host {
			t.Errorf("resolved %q", h)
		}
		return []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil
	})
	addr := startProxy(t, s)
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	msg := []byte{5, 255}
	for i := range 255 {
		msg = append(msg, byte(i))
	}
	msg = AppendRequest(msg, Request{Cmd: CmdConnect, Host: host, Port: 443})
	c.Write(msg)
	got, err := io.ReadAll(c)
	if err != nil || len(got) != 12 || got[1] != 0 || got[3] != ReplyHostUnreachable {
		t.Fatalf("got %x %v", got, err)
	}
}
