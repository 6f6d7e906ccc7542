package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/internal/daemon"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/machine/machinetest"
)

// testDaemon is a real daemon (listener, token, api.json) serving a
// temporary data directory over a fake backend.
type testDaemon struct {
	dir     string
	backend *machinetest.Backend
	stop    func() error
}

func startDaemon() (*testDaemon, error) {
	dir, err := os.MkdirTemp("", "microvm-client-test-")
	if err != nil {
		return nil, err
	}
	be := machinetest.NewBackend()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{
			Listen: "127.0.0.1:0", DataDir: dir, Version: "test",
			Logger: slog.New(slog.DiscardHandler),
			Host: func(*slog.Logger) daemon.Host {
				return daemon.Host{
					Backends: map[string]machine.Backend{"linux": be}, Default: "linux",
					Unavailable: map[string]string{"wsl": "WSL2 runs on Windows only"}, Agents: be.Agents,
				}
			},
			OnReady: func(api.Discovery) { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("daemon: %w", err)
	}
	return &testDaemon{dir: dir, backend: be, stop: func() error {
		cancel()
		err := <-done
		os.RemoveAll(dir)
		return err
	}}, nil
}
