package benchkit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Path is one way to reach an origin: directly, through a SOCKS5 proxy, or
// through a custom dialer (a socket made in another network namespace).
type Path struct {
	Name  string
	Proxy string                                                            // SOCKS5 address; "" for none
	Dial  func(ctx context.Context, network, addr string) (net.Conn, error) // nil: net.Dialer
}

// DialOrigin connects to origin ("host:port") along the path. Through a
// proxy it sends a no-auth greeting and a CONNECT naming the host as a
// domain, as curl --socks5-hostname does, so names resolve in the proxy.
func (p Path) DialOrigin(ctx context.Context, origin string) (net.Conn, error) {
	dial := p.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	if p.Proxy == "" {
		return dial(ctx, "tcp", origin)
	}
	c, err := dial(ctx, "tcp", p.Proxy)
	if err != nil {
		return nil, err
	}
	if err := socksConnect(c, origin); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	return c, nil
}

func socksConnect(c net.Conn, origin string) error {
	host, portS, err := net.SplitHostPort(origin)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portS)
	if err != nil || len(host) > 255 {
		return fmt.Errorf("socks5: bad origin %q", origin)
	}
	var buf [10]byte
	if _, err := c.Write([]byte{5, 1, 0}); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, buf[:2]); err != nil || buf[1] != 0 {
		return fmt.Errorf("socks5 greeting: %x %v", buf[:2], err)
	}
	req := append([]byte{5, 1, 0, 3, byte(len(host))}, host...)
	req = append(req, byte(port>>8), byte(port))
	if _, err := c.Write(req); err != nil {
		return err
	}
	// The agent and microsocks answer with an IPv4 bound address.
	if _, err := io.ReadFull(c, buf[:10]); err != nil || buf[1] != 0 {
		return fmt.Errorf("socks5 connect: reply %x %v", buf[:10], err)
	}
	return nil
}

// CurlDownload fetches url with curl along the path (which must not have a
// custom dialer) and returns curl's average rate in MB/s.
func CurlDownload(ctx context.Context, p Path, url string) (float64, error) {
	if p.Dial != nil {
		return 0, errors.New("curl cannot use a custom dialer")
	}
	args := []string{"-sS", "--fail", "-o", "/dev/null", "-w", "%{speed_download}", "--max-time", "300"}
	if p.Proxy != "" {
		args = append(args, "--socks5-hostname", p.Proxy)
	}
	out, err := exec.CommandContext(ctx, "curl", append(args, url)...).Output()
	if err != nil {
		return 0, fmt.Errorf("curl via %s: %w", p.Name, err)
	}
	bps, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return 0, fmt.Errorf("curl via %s: rate %q: %w", p.Name, out, err)
	}
	return bps / 1e6, nil
}

// Download fetches size bytes of the origin's /bytes with a Go client that
// reads 64 KiB at a time and returns MB/s.
func Download(ctx context.Context, p Path, origin string, size int64) (float64, error) {
	c, err := p.DialOrigin(ctx, origin)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	start := time.Now()
	if _, err := fmt.Fprintf(c, "GET /bytes?n=%d HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n", size); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 64<<10), nil)
	if err != nil {
		return 0, fmt.Errorf("download via %s: %w", p.Name, err)
	}
	n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 64<<10))
	if err != nil || n != size {
		return 0, fmt.Errorf("download via %s: %d of %d bytes: %v", p.Name, n, size, err)
	}
	return float64(size) / time.Since(start).Seconds() / 1e6, nil
}

// Downloads runs n Downloads of size bytes in parallel.
func Downloads(ctx context.Context, p Path, origin string, size int64, n int) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = Download(ctx, p, origin, size) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ConnResult is the outcome of a connection-rate run.
type ConnResult struct {
	Rate    float64 // requests per second
	Latency Samples // µs per request
}

// ConnRate makes, one at a time, a new connection along the path and a
// GET /small on it, for at most n requests or d, after 50 warm-up
// requests.
func ConnRate(ctx context.Context, p Path, origin string, n int, d time.Duration) (ConnResult, error) {
	one := func() error {
		c, err := p.DialOrigin(ctx, origin)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /small HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n"); err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, c)
		return err
	}
	for range 50 {
		if err := one(); err != nil {
			return ConnResult{}, fmt.Errorf("conn rate via %s: %w", p.Name, err)
		}
	}
	lat := make(Samples, 0, n)
	start := time.Now()
	for len(lat) < n && time.Since(start) < d {
		t0 := time.Now()
		if err := one(); err != nil {
			return ConnResult{}, fmt.Errorf("conn rate via %s: %w", p.Name, err)
		}
		lat = append(lat, float64(time.Since(t0).Nanoseconds())/1e3)
	}
	return ConnResult{Rate: float64(len(lat)) / time.Since(start).Seconds(), Latency: lat}, nil
}

// PeakRSS runs fn and returns pid's peak resident memory in kB meanwhile:
// the larger of VmRSS sampled every 50 ms and VmHWM, which is reset first.
func PeakRSS(pid int, fn func() error) (int, error) {
	ResetPeakRSS(pid)
	stop := make(chan struct{})
	peak := 0
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, StatusKB(pid, "VmRSS"))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	err := fn()
	close(stop)
	wg.Wait()
	return max(peak, StatusKB(pid, "VmHWM")), err
}
