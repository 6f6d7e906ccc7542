//go:build e2e && linux

package e2e

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// tally counts the requests of one side of a load test and keeps their
// latencies in a histogram of fixed size, so that a soak of hours costs
// no more memory in the test than one of seconds.
type tally struct {
	ok, failed atomic.Int64
	buckets    [latencyBuckets]atomic.Int64

	mu   sync.Mutex
	errs []string // the first few failures, for the test's output
}

// Latency buckets grow by 10% from 10µs: 200 of them reach past an hour,
// and a percentile read from them is within 10% of the true value.
const (
	latencyBuckets = 200
	latencyBase    = 10 * time.Microsecond
	latencyGrowth  = 1.1
)

func (t *tally) done(took time.Duration, err error) {
	if err != nil {
		t.failed.Add(1)
		t.mu.Lock()
		if len(t.errs) < 5 {
			t.errs = append(t.errs, err.Error())
		}
		t.mu.Unlock()
		return
	}
	t.ok.Add(1)
	i := 0
	if took > latencyBase {
		i = min(int(math.Log(float64(took)/float64(latencyBase))/math.Log(latencyGrowth))+1, latencyBuckets-1)
	}
	t.buckets[i].Add(1)
}

// quantile returns the upper edge of the bucket holding quantile q of the
// successful requests.
func (t *tally) quantile(q float64) time.Duration {
	total := t.ok.Load()
	if total == 0 {
		return 0
	}
	want := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i := range t.buckets {
		if seen += t.buckets[i].Load(); seen >= want {
			return time.Duration(float64(latencyBase) * math.Pow(latencyGrowth, float64(i)))
		}
	}
	return time.Duration(math.MaxInt64)
}

func (t *tally) failures() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.errs, "\n")
}

// procSample is what /proc tells about a process at one moment.
type procSample struct {
	RSS     int64 // bytes
	Threads int
	Sockets int // open socket descriptors
	FDs     int // all open descriptors
}

func sampleProc(pid int) (procSample, error) {
	var s procSample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			s.RSS = n << 10 // kB
		case "Threads":
			s.Threads = int(n)
		}
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return s, err
	}
	s.FDs = len(ents)
	for _, e := range ents {
		if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			s.Sockets++
		}
	}
	return s, nil
}

// monitor samples processes once a second until stopped.
type monitor struct {
	pids     []int
	stopped  chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	mu      sync.Mutex
	samples [][]procSample // per pid, one a second
	errs    []error
}

func startMonitor(pids ...int) *monitor {
	m := &monitor{pids: pids, stopped: make(chan struct{}), done: make(chan struct{}), samples: make([][]procSample, len(pids))}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			m.sample()
			select {
			case <-m.stopped:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *monitor) sample() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, pid := range m.pids {
		s, err := sampleProc(pid)
		if err != nil {
			m.errs = append(m.errs, err)
			continue
		}
		m.samples[i] = append(m.samples[i], s)
	}
}

// stop ends the sampling and returns the samples of each pid. It may be
// called more than once.
func (m *monitor) stop() ([][]procSample, error) {
	m.stopOnce.Do(func() { close(m.stopped) })
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.errs) > 0 {
		return nil, fmt.Errorf("sampling /proc: %v", m.errs[0])
	}
	return m.samples, nil
}

// peak is the largest value of f over samples.
func peak(samples []procSample, f func(procSample) int64) int64 {
	var p int64
	for _, s := range samples {
		p = max(p, f(s))
	}
	return p
}

func rss(s procSample) int64     { return s.RSS }
func sockets(s procSample) int64 { return int64(s.Sockets) }
func fds(s procSample) int64     { return int64(s.FDs) }
func threads(s procSample) int64 { return int64(s.Threads) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// netCounters reads the kernel's protocol counters (/proc/net/snmp and
// /proc/net/netstat, as "Udp.RcvbufErrors") of a network namespace, ""
// for the test's own.
func netCounters(ns string) (map[string]int64, error) {
	args := []string{"cat", "/proc/net/snmp", "/proc/net/netstat"}
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %w", args, err)
	}
	counters := map[string]int64{}
	lines := strings.Split(string(out), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) != len(values) || len(names) == 0 {
			return nil, fmt.Errorf("unexpected counters: %q", lines[i])
		}
		proto := strings.TrimSuffix(names[0], ":")
		for j := 1; j < len(names); j++ {
			n, _ := strconv.ParseInt(values[j], 10, 64)
			counters[proto+"."+names[j]] = n
		}
	}
	return counters, nil
}
