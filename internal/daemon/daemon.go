// Package daemon runs microvm-api: it claims the data directory, keeps the
// bearer token, opens the loopback listener, serves the API over the VM
// manager and publishes api.json for clients until it is stopped.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/server"
	"github.com/velocitty/microvm/vpn"
)

// DefaultListen is the address served when none is given.
const DefaultListen = "127.0.0.1:8421"

// Options configure Run.
type Options struct {
	Listen  string       // loopback host:port; port 0 picks a free one
	DataDir string       // required
	Logger  *slog.Logger // required
	Version string

	// Host returns the backends of this host; nil uses the built-in ones.
	Host func(*slog.Logger) Host
	// OnReady, if set, is called once the API accepts connections and
	// api.json is written.
	OnReady func(api.Discovery)
}

// Run serves the API until ctx is cancelled, then shuts down gracefully.
// A cancelled ctx is a clean exit and returns nil.
func Run(ctx context.Context, o Options) (err error) {
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.DataDir == "" || o.Logger == nil {
		return errors.New("daemon: DataDir and Logger are required")
	}
	if !IsLoopback(o.Listen) {
		return fmt.Errorf("listen %s: refusing a non-loopback address; the API is for this machine only (use 127.0.0.1:PORT)", o.Listen)
	}
	if o.Host == nil {
		o.Host = hostBackends
	}
	log := o.Logger
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", o.DataDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := checkPrivate(dir); err != nil {
		return err
	}

	unlock, err := lockDataDir(dir)
	if err != nil {
		return err
	}
	defer unlock()

	token, err := loadOrCreateToken(filepath.Join(dir, api.TokenFile))
	if err != nil {
		return err
	}

	profiles, err := vpn.NewStore(filepath.Join(dir, "vpn"))
	if err != nil {
		return err
	}
	host := o.Host(log)
	mgr, err := machine.New(ctx, machine.Config{
		DataDir:        dir,
		Logger:         log,
		Backends:       host.Backends,
		Unavailable:    host.Unavailable,
		DefaultBackend: host.Default,
		Agents:         host.Agents,
		Profiles:       profiles,
	})
	if err != nil {
		return fmt.Errorf("start VM manager: %w", err)
	}

	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr)
	startedAt := time.Now().UTC()
	// Shells get their last status frame when the server shuts down;
	// wait for them before the daemon goes.
	shells := server.NewShellSessions(mgr)
	defer shells.Wait()
	handler, err := server.New(server.Config{
		Logger:     log.With("component", "api"),
		Machines:   mgr,
		Events:     mgr.Events(),
		Profiles:   profiles,
		Shells:     shells,
		Token:      token,
		Port:       addr.Port,
		ListenHost: addr.IP.String(),
		Version:    o.Version,
		DataDir:    dir,
		StartedAt:  startedAt,
	})
	if err != nil {
		return err
	}
	return serve(ctx, log, ln, handler, mgr, dir, api.Discovery{
		URL:       "http://" + addr.String(),
		PID:       os.Getpid(),
		Version:   o.Version,
		StartedAt: startedAt,
	}, o.OnReady)
}

// serve runs the HTTP server and the manager's health loop until ctx ends.
func serve(ctx context.Context, log *slog.Logger, ln net.Listener, h http.Handler,
	mgr *machine.Manager, dir string, disc api.Discovery, onReady func(api.Discovery)) error {
	// Requests live in reqCtx, cancelled when shutdown begins so that
	// event streams end instead of holding Shutdown up.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Go(func() {
		if err := mgr.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("VM manager: %w", err)
		}
	})
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve: %w", err)
		}
	})

	discPath := filepath.Join(dir, api.DiscoveryFile)
	err := writeDiscovery(discPath, disc)
	if err == nil {
		log.InfoContext(ctx, "api_listening", "url", disc.URL, "data_dir", dir, "pid", disc.PID)
		if onReady != nil {
			onReady(disc)
		}
		select {
		case <-ctx.Done():
		case err = <-errc:
		}
	}

	// Unpublish first so that no client finds a daemon going away.
	if rmErr := os.Remove(discPath); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, fmt.Errorf("remove %s: %w", discPath, rmErr))
	}
	log.InfoContext(ctx, "api_stopping")
	cancelRequests()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if shErr := srv.Shutdown(shutCtx); shErr != nil {
		err = errors.Join(err, fmt.Errorf("shutdown: %w", shErr))
	}
	stop()
	wg.Wait()
	close(errc)
	for e := range errc {
		err = errors.Join(err, e)
	}
	return err
}

// IsLoopback reports whether addr (host:port) names loopback only.
// "localhost" counts; an empty host (every interface) does not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
