package benchkit

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/guest/socks5"
)

func TestSamples(t *testing.T) {
	s := Samples{5, 1, 4, 2, 3}
	if s.Median() != 3 || s.Min() != 1 || s.Max() != 5 || s.Percentile(99) != 5 || s.Percentile(20) != 1 {
		t.Fatalf("median %v min %v max %v p99 %v p20 %v", s.Median(), s.Min(), s.Max(), s.Percentile(99), s.Percentile(20))
	}
	if (Samples{}).Median() != 0 || (Samples{}).Max() != 0 {
		t.Fatal("empty samples are not 0")
	}
	if s[0] != 5 {
		t.Fatal("Percentile reordered the samples")
	}
}

// TestPaths downloads from the origin directly and through a real SOCKS5
// proxy, and checks that a short download is an error.
func TestPaths(t *testing.T) {
	origin := httptest.NewServer(OriginHandler())
	defer origin.Close()
	originAddr := strings.TrimPrefix(origin.URL, "http://")

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- (&socks5.Server{}).Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	for _, p := range []Path{{Name: "direct"}, {Name: "socks", Proxy: ln.Addr().String()}} {
		if mbps, err := Download(ctx, p, originAddr, 3<<20); err != nil || mbps <= 0 {
			t.Fatalf("%s: download: %v %v", p.Name, mbps, err)
		}
		if err := Downloads(ctx, p, originAddr, 1<<20, 4); err != nil {
			t.Fatalf("%s: parallel downloads: %v", p.Name, err)
		}
		res, err := ConnRate(ctx, p, originAddr, 20, 10*time.Second)
		if err != nil || len(res.Latency) != 20 || res.Rate <= 0 {
			t.Fatalf("%s: conn rate: %+v %v", p.Name, res, err)
		}
	}
	if _, err := Download(ctx, Path{Name: "closed", Proxy: "127.0.0.1:1"}, originAddr, 10); err == nil {
		t.Fatal("download through a closed port succeeded")
	}
}

func TestPeakRSSOfSelf(t *testing.T) {
	kb, err := PeakRSS(os.Getpid(), func() error {
		b := make([]byte, 32<<20)
		for i := range b {
			b[i] = 1
		}
		return nil
	})
	if err != nil || kb < 32<<10 {
		t.Fatalf("peak RSS %d kB after touching 32 MiB: %v", kb, err)
	}
	if CPUSeconds(os.Getpid()) <= 0 {
		t.Fatal("no CPU time for this process")
	}
}

func TestRotate(t *testing.T) {
	xs := []int{1, 2, 3}
	for r, want := range [][]int{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}, {1, 2, 3}} {
		if got := Rotate(xs, r); !slices.Equal(got, want) {
			t.Errorf("Rotate(%v, %d) = %v, want %v", xs, r, got, want)
		}
	}
	if !slices.Equal(xs, []int{1, 2, 3}) {
		t.Errorf("Rotate changed its input: %v", xs)
	}
	if got := Rotate([]int(nil), 2); got != nil {
		t.Errorf("Rotate(nil) = %v", got)
	}
}
