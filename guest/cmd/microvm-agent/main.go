//go:build linux

// Command microvm-agent is the one program a microvm guest runs: the
// control API the daemon drives (exec, shells, logs), the SOCKS5 proxy the
// user's SSH client goes through, and, as `init`, the guest's PID 1.
//
//	microvm-agent version
//	microvm-agent serve [--control-addr 127.0.0.1:1025] [--socks-addr 127.0.0.1:1080] [--token-file /etc/microvm/token]
//	microvm-agent init -- [serve flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/velocitty/microvm/guest/agent"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/initproc"
	"github.com/velocitty/microvm/guest/internal/monitor"
	"github.com/velocitty/microvm/guest/logring"
	"github.com/velocitty/microvm/guest/socks5"
	"github.com/velocitty/microvm/guest/vpn"
)

const usage = `usage:
  microvm-agent version
  microvm-agent serve [flags]     (serve -h lists them)
  microvm-agent init -- [serve flags]
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "version", "--version", "-version":
		fmt.Println(agentapi.Version)
	case "serve":
		monitor.KeepAwake()
		os.Exit(serve(args, os.Stderr))
	case "init":
		if len(args) > 0 && args[0] == "--" {
			args = args[1:]
		}
		if len(args) > 0 && args[0] == "serve" {
			args = args[1:] // tolerate "init -- serve FLAGS"
		}
		log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("role", "init")
		monitor.Set() // the server inherits it and need not re-execute
		os.Exit(initproc.Run(append([]string{"/proc/self/exe", "serve"}, args...), log))
	default:
		fmt.Fprintf(os.Stderr, "microvm-agent: unknown command %q\n%s", cmd, usage)
		os.Exit(2)
	}
}

// serve runs the agent until SIGTERM, SIGINT or an API shutdown request
// and returns the exit code.
func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	controlAddr := fs.String("control-addr", "127.0.0.1:"+strconv.Itoa(agentapi.DefaultControlPort), "control API `address` (IPv4 loopback)")
	socksAddr := fs.String("socks-addr", "127.0.0.1:"+strconv.Itoa(agentapi.DefaultSocksPort), "SOCKS5 proxy `address` (IPv4 loopback)")
	tokenFile := fs.String("token-file", "/etc/microvm/token", "`file` holding the API token (mode 0600)")
	maxSocks := fs.Int("max-socks-conns", socks5.DefaultMaxConns, "concurrent SOCKS5 connections; more are refused")
	maxShells := fs.Int("max-shells", agent.DefaultMaxShells, "concurrent PTY shells")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	procs := fs.Int("procs", 1, "Go `threads` running code at once (GOMAXPROCS); 0 keeps Go's default, one per CPU")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "microvm-agent: --log-level: %v\n", err)
		return 2
	}
	// One P is the measured sweet spot for a relay that splices in the
	// kernel: with more, every wake-up also wakes an idle thread, which
	// costs a third more CPU per connection and adds latency (see
	// guest/perf). An explicit GOMAXPROCS in the environment still wins.
	if *procs > 0 && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(*procs)
	}
	ring := logring.NewRing(0)
	log := slog.New(logring.NewHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}), ring, level))

	if err := run(log, ring, *controlAddr, *socksAddr, *tokenFile, *maxSocks, *maxShells); err != nil {
		log.Error("agent_failed", "err", err)
		return 1
	}
	log.Info("agent_stopped")
	return 0
}

func run(log *slog.Logger, ring *logring.Ring, controlAddr, socksAddr, tokenFile string, maxSocks, maxShells int) error {
	token, err := agent.ReadTokenFile(tokenFile)
	if err != nil {
		return err
	}
	api, err := agent.New(agent.Config{Token: token, Logger: log, Ring: ring, MaxShells: maxShells})
	if err != nil {
		return err
	}
	controlLn, err := listenLoopback(controlAddr, nil)
	if err != nil {
		return err
	}
	socksLn, err := listenLoopback(socksAddr, socks5.ListenControl)
	if err != nil {
		controlLn.Close()
		return err
	}
	proxy := &socks5.Server{MaxConns: maxSocks, Logger: log.With("component", "socks5")}
	// The VPN supervisor routes the proxy: directly with no profile
	// selected, through the tunnel namespace with one, never direct while
	// a selected tunnel is down.
	sup := vpn.New(vpn.Config{Logger: log.With(logring.SourceKey, "vpn"), RuntimeDir: vpnRuntimeDir()})
	defer sup.Close()
	proxy.SetUpstream(sup, sup.Resolve)
	api.Handle(agentapi.PathVPN, vpn.Handler(sup))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// A hangup (e.g. forwarded by init) must not kill the agent. Catch it
	// rather than ignore it: an ignored signal stays ignored in every
	// program the agent starts, and shells are ended with SIGHUP.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	log.Info("agent_started", "version", agentapi.Version, "pid", os.Getpid(),
		"control_addr", controlLn.Addr().String(), "socks_addr", socksLn.Addr().String())
	socksErr := make(chan error, 1)
	go func() {
		err := proxy.Serve(ctx, socksLn)
		cancel() // a dead proxy takes the agent down: the daemon restarts it
		socksErr <- err
	}()
	apiErr := api.Run(ctx, controlLn)
	cancel()
	return errors.Join(apiErr, <-socksErr)
}

// vpnRuntimeDir is where openvpn's per-connection directories go: a
// root-only directory on the guest's tmpfs, or the temp dir when it cannot
// be made.
func vpnRuntimeDir() string {
	const dir = "/run/microvm-vpn"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return os.TempDir()
	}
	return dir
}

// listenLoopback listens on a tcp4 loopback address: WSL2 forwards only
// IPv4 loopback listeners to the host, and the proxy has no authentication,
// so it must never face a network.
// control, when not nil, is applied to the socket before it listens.
func listenLoopback(addr string, control func(network, address string, c syscall.RawConn) error) (net.Listener, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("listen %q: want an IPv4 loopback address such as 127.0.0.1:1080", addr)
	}
	lc := net.ListenConfig{KeepAlive: -1, Control: control}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ln, err := lc.Listen(ctx, "tcp4", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}
