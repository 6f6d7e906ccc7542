//go:build e2e && linux

// Package e2e drives the real daemon binary with real guests, only through
// the Go client, curl and sockets, as Velocitty and scripts do.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/velocitty/microvm/client"
)

// binDir holds microvm-api, microvm-agent and the guest image, as `make
// build guest-image` leaves them.
func binDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv("MICROVM_E2E_BIN")
	if d == "" {
		t.Skip("MICROVM_E2E_BIN is not set: run `make e2e`")
	}
	if os.Geteuid() != 0 {
		t.Skip("e2e tests run guests in namespaces and need root")
	}
	for _, f := range []string{"microvm-api", "microvm-agent", "microvm-guest.tar.gz"} {
		if _, err := os.Stat(filepath.Join(d, f)); err != nil {
			t.Fatalf("%s missing in %s: run `make build guest-image`", f, d)
		}
	}
	return d
}

// daemon is one running microvm-api process.
type daemon struct {
	t       *testing.T
	bin     string
	dataDir string
	env     []string
	cmd     *exec.Cmd
	done    chan error
	URL     string
	Token   string
}

func startDaemon(t *testing.T, bin, dataDir string, env ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, bin: bin, dataDir: dataDir, env: env}
	d.start()
	t.Cleanup(d.cleanup)
	return d
}

// cleanup deletes every VM the test left, then stops the daemon. Guests
// outlive the daemon by design, so a test that fails halfway would
// otherwise leave them running.
func (d *daemon) cleanup() {
	if d.exited() {
		d.start()
	}
	code, body := d.curl("GET", "/v1/vms", "")
	var list struct {
		VMs []struct {
			Name string `json:"name"`
		} `json:"vms"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil {
		d.t.Errorf("cleanup: list VMs: %d %s", code, body)
	}
	for _, vm := range list.VMs {
		if code, body := d.curl("DELETE", "/v1/vms/"+vm.Name, ""); code != 204 {
			d.t.Errorf("cleanup: delete VM %s: %d %s", vm.Name, code, body)
		}
	}
	d.stop()
}

func (d *daemon) exited() bool {
	select {
	case err := <-d.done:
		d.done <- err
		return true
	default:
		return false
	}
}

func (d *daemon) start() {
	t := d.t
	t.Helper()
	os.Remove(filepath.Join(d.dataDir, "api.json"))
	logf, err := os.OpenFile(filepath.Join(artifacts(t), "daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(d.bin, "microvm-api"), "serve", "--listen", "127.0.0.1:0", "--data-dir", d.dataDir, "--log-format", "json", "--log-level", "debug")
	cmd.Env = append(os.Environ(), d.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a SIGKILL of the daemon must not reach the
	// guests it started, exactly as when a user's daemon crashes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	d.cmd, d.done = cmd, done

	var info struct {
		URL string `json:"url"`
		PID int    `json:"pid"`
	}
	waitFor(t, 20*time.Second, "daemon writes api.json", func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("daemon exited early: %v (see daemon.log)", err)
		default:
		}
		b, err := os.ReadFile(filepath.Join(d.dataDir, "api.json"))
		return err == nil && json.Unmarshal(b, &info) == nil && info.PID == cmd.Process.Pid
	})
	tok, err := os.ReadFile(filepath.Join(d.dataDir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	d.URL, d.Token = info.URL, strings.TrimSpace(string(tok))
}

// kill9 ends the daemon the hard way, as a crash would.
func (d *daemon) kill9() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	d.done <- nil
}

// stop ends the daemon gracefully; it is a no-op when already stopped.
func (d *daemon) stop() {
	if d.exited() {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		d.t.Errorf("daemon did not stop on SIGTERM within 15s")
	}
}

// curl runs curl with the daemon's token and returns status and body.
func (d *daemon) curl(method, path string, body string) (int, string) {
	d.t.Helper()
	args := []string{"-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method, "-H", "Authorization: Bearer " + d.Token}
	if body != "" {
		args = append(args, "-H", "Content-Type: application/json", "--data-binary", body)
	}
	out, err := exec.Command("curl", append(args, d.URL+path)...).Output()
	if err != nil {
		d.t.Fatalf("curl %s %s: %v", method, path, err)
	}
	s := strings.TrimRight(string(out), "\n")
	i := strings.LastIndexByte(s, '\n')
	var code int
	fmt.Sscanf(s[i+1:], "%d", &code)
	return code, s[:max(i, 0)]
}

func artifacts(t *testing.T) string {
	dir := filepath.Join("artifacts", strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// origin is a local HTTP server the guest reaches through its SOCKS5 proxy.
// /bytes?n=N streams N bytes slowly enough to observe a paused guest.
type origin struct {
	URL string
	srv *http.Server
}

func startOrigin(t *testing.T) *origin {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from origin\n") })
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		// One chunk every 20ms until the client goes away.
		f := w.(http.Flusher)
		chunk := []byte(strings.Repeat("x", 1023) + "\n")
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			f.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &origin{URL: "http://" + ln.Addr().String(), srv: srv}
}

// socksStream opens a streaming GET through a SOCKS5 proxy with curl and
// counts the bytes that arrive.
type socksStream struct {
	cmd   *exec.Cmd
	bytes chan int
	total int
}

func openSocksStream(t *testing.T, socks, url string) *socksStream {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "curl", "-sS", "-N", "--socks5-hostname", socks, url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &socksStream{cmd: cmd, bytes: make(chan int, 1024)}
	go func() {
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				s.bytes <- len(line)
			}
			if err != nil {
				close(s.bytes)
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); cmd.Wait() })
	return s
}

// drain returns the bytes received so far without blocking.
func (s *socksStream) drain() int {
	for {
		select {
		case n, ok := <-s.bytes:
			if !ok {
				return s.total
			}
			s.total += n
		default:
			return s.total
		}
	}
}

// flowing reports whether more bytes arrive within d.
func (s *socksStream) flowing(d time.Duration) bool {
	before := s.drain()
	deadline := time.After(d)
	for {
		select {
		case n, ok := <-s.bytes:
			if !ok {
				return false
			}
			s.total += n
			if s.total > before {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("not an address: %q", s)
	}
	return a
}

// pauseStallsStream pauses a VM and checks that an open download through
// its proxy stops: every guest process, the proxy too, is frozen.
func pauseStallsStream(t *testing.T, c *client.Client, name string, stream *socksStream) {
	t.Helper()
	if !stream.flowing(5 * time.Second) {
		t.Fatal("stream through SOCKS5 does not flow")
	}
	if vm, err := c.PauseVM(t.Context(), name); err != nil || vm.State != "paused" {
		t.Fatalf("pause: %+v %v", vm, err)
	}
	stream.drain()
	if stream.flowing(time.Second) {
		t.Fatal("stream still flows while the guest is paused")
	}
}

// resumeRestartsStream resumes a paused VM and checks that the stalled
// download continues.
func resumeRestartsStream(t *testing.T, c *client.Client, name string, stream *socksStream) {
	t.Helper()
	if vm, err := c.ResumeVM(t.Context(), name); err != nil || vm.State != "running" {
		t.Fatalf("resume: %+v %v", vm, err)
	}
	if !stream.flowing(5 * time.Second) {
		t.Fatal("stream does not flow again after resume")
	}
}
