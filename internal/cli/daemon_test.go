package cli

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/internal/daemon"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/machine/machinetest"
)

// testDaemon is a real daemon over the fake backend, in this process.
type testDaemon struct {
	dir  string
	url  string
	stop func() // stops the daemon and waits for it
}

func startDaemon(t *testing.T) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan api.Discovery, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{
			Listen: "127.0.0.1:0", DataDir: dir, Version: "v-test",
			Logger: slog.New(slog.DiscardHandler),
			Host: func(*slog.Logger) daemon.Host {
				be := machinetest.NewBackend()
				return daemon.Host{
					Backends:    map[string]machine.Backend{"linux": be},
					Unavailable: map[string]string{"wsl": "Windows only"},
					Default:     "linux",
					Agents:      be.Agents,
				}
			},
			OnReady: func(d api.Discovery) { ready <- d },
		})
	}()
	var d api.Discovery
	select {
	case d = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("daemon exited before ready: %v", err)
	}
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	t.Cleanup(stop)
	return &testDaemon{dir: dir, url: d.URL, stop: stop}
}

// result is what one CLI run printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%sstderr:\n%s", r.code, r.stdout, r.stderr)
}

// cli runs the CLI in this process against the daemon.
func (d *testDaemon) cli(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runCLI(t, stdin, append([]string{"--data-dir", d.dir}, args...)...)
}

func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	code, reported := ExitCode(err)
	if !reported {
		t.Fatalf("%v: unreported error %v", args, err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// syncBuffer is a buffer written by one goroutine and awaited by another.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// patience bounds every wait of these tests.
const patience = 30 * time.Second

// waitFor waits until the buffer contains want.
func (b *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(patience)
	for !strings.Contains(b.String(), want) {
		select {
		case <-b.changed:
		case <-deadline:
			t.Fatalf("never printed %q; got:\n%q", want, b.String())
		}
	}
}

// recv receives from ch, failing the test if nothing comes.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatalf("nothing received in %s", patience)
		panic("unreachable")
	}
}
