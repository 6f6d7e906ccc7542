//go:build !windows

package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
)

// lockedBuffer collects the daemon's log from its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestSIGTERMStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	var log lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json"}, &log, &log)
	}()
	disc := filepath.Join(dir, api.DiscoveryFile)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(disc); err == nil {
			break // listening, so the signal handler is installed
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("api.json never appeared")
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if _, err := os.Stat(disc); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("api.json left behind: %v", err)
	}
}
