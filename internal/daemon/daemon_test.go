package daemon

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/machine/machinetest"
)

func fakeHost(*slog.Logger) Host {
	be := machinetest.NewBackend()
	return Host{
		Backends:    map[string]machine.Backend{"linux": be},
		Unavailable: map[string]string{"wsl": "Windows only"},
		Default:     "linux",
		Agents:      be.Agents,
	}
}

// started is a daemon running in the background of a test.
type started struct {
	disc   api.Discovery
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, dir string) *started {
	t.Helper()
	return startOn(t, dir, "127.0.0.1:0")
}

func startOn(t *testing.T, dir, listen string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan api.Discovery, 1)
	s := &started{cancel: cancel, done: make(chan error, 1)}
	go func() {
		s.done <- Run(ctx, Options{
			Listen: listen, DataDir: dir, Version: "v-test",
			Logger: slog.New(slog.DiscardHandler), Host: fakeHost,
			OnReady: func(d api.Discovery) { ready <- d },
		})
	}()
	select {
	case s.disc = <-ready:
	case err := <-s.done:
		t.Fatalf("daemon exited before ready: %v", err)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *started) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func readToken(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, api.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestRunPublishesAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	d := start(t, dir)

	disc, err := readDiscovery(filepath.Join(dir, api.DiscoveryFile))
	if err != nil {
		t.Fatal(err)
	}
	if disc.URL != d.disc.URL || disc.PID != os.Getpid() || disc.Version != "v-test" || disc.StartedAt.IsZero() {
		t.Fatalf("api.json = %+v, ready = %+v", disc, d.disc)
	}
	if strings.HasSuffix(disc.URL, ":0") || !strings.HasPrefix(disc.URL, "http://127.0.0.1:") {
		t.Fatalf("url %q does not name the real port", disc.URL)
	}
	tok := readToken(t, dir)
	if b, err := hex.DecodeString(tok); err != nil || len(b) != 32 {
		t.Fatalf("token %q is not 32 bytes of hex", tok)
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(filepath.Join(dir, api.TokenFile))
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("token mode = %v", fi.Mode())
		}
	}
	if code, body := get(t, disc.URL+"/v1/health", ""); code != 200 {
		t.Fatalf("health: %d %s", code, body)
	}
	if code, body := get(t, disc.URL+"/v1/vms/default", tok); code != 200 || !strings.Contains(body, `"state":"created"`) {
		t.Fatalf("default VM: %d %s", code, body)
	}
	if code, _ := get(t, disc.URL+"/v1/vms", ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}

	d.stop(t)
	if _, err := os.Stat(filepath.Join(dir, api.DiscoveryFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("api.json left behind: %v", err)
	}
	if _, err := http.Get(disc.URL + "/v1/health"); err == nil {
		t.Fatal("still serving after stop")
	}
}

func TestTokenIsReusedOrReplaced(t *testing.T) {
	dir := t.TempDir()
	start(t, dir).stop(t)
	first := readToken(t, dir)
	start(t, dir).stop(t)
	if got := readToken(t, dir); got != first {
		t.Fatalf("token changed across restarts: %s -> %s", first, got)
	}
	if err := os.WriteFile(filepath.Join(dir, api.TokenFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := start(t, dir)
	tok := readToken(t, dir)
	if tok == "garbage" || tok == first || !validToken(tok) {
		t.Fatalf("invalid token not replaced: %q", tok)
	}
	if code, _ := get(t, d.disc.URL+"/v1/vms", tok); code != 200 {
		t.Fatalf("new token refused: %d", code)
	}
}

func TestOneDaemonPerDataDir(t *testing.T) {
	dir := t.TempDir()
	first := start(t, dir)
	err := Run(t.Context(), Options{
		Listen: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.DiscardHandler), Host: fakeHost,
	})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", first.disc.PID)) {
		t.Fatalf("second daemon: %v", err)
	}
	// The first one is unharmed and still published.
	if code, _ := get(t, first.disc.URL+"/v1/health", ""); code != 200 {
		t.Fatalf("first daemon: %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, api.DiscoveryFile)); err != nil {
		t.Fatal(err)
	}
}

func TestNonLoopbackListenRefused(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:8421", "example.com:80", "127.0.0.1"} {
		err := Run(t.Context(), Options{Listen: addr, DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Host: fakeHost})
		if err == nil || !strings.Contains(err.Error(), "non-loopback") {
			t.Errorf("listen %q: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:8421", "[::1]:0", "127.1.2.3:80"} {
		if !IsLoopback(addr) {
			t.Errorf("IsLoopback(%q) = false", addr)
		}
	}
}

func TestShutdownEndsEventStreams(t *testing.T) {
	dir := t.TempDir()
	d := start(t, dir)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", d.disc.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+readToken(t, dir))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	d.stop(t) // would wait for the shutdown timeout if the stream held on
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("stream did not end cleanly: %v", err)
	}
}

func TestOtherLoopbackAddress(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux routes all of 127.0.0.0/8 to loopback by default")
	}
	dir := t.TempDir()
	d := startOn(t, dir, "127.0.0.2:0")
	if !strings.HasPrefix(d.disc.URL, "http://127.0.0.2:") {
		t.Fatalf("url = %s", d.disc.URL)
	}
	if code, body := get(t, d.disc.URL+"/v1/vms", readToken(t, dir)); code != 200 {
		t.Fatalf("GET via the listen address: %d %s", code, body)
	}
}
