// Command microvm-api is the local daemon that runs small Linux guests
// with a SOCKS5 proxy for one desktop application, and serves their REST
// API on loopback.
//
//	microvm-api serve [--listen 127.0.0.1:8421] [--data-dir DIR] [--log-level info] [--log-format auto]
//	microvm-api version
//	microvm-api COMMAND ...   (vm, vpn, shell, logs, events, console, completion: see --help)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lmittmann/tint"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/internal/cli"
	"github.com/velocitty/microvm/internal/daemon"
	"github.com/velocitty/microvm/internal/version"
	"github.com/velocitty/microvm/sandbox"
)

func main() {
	// A sandbox helper process re-executes this binary; it must take over
	// before anything else runs.
	if sandbox.IsChild() {
		sandbox.ChildMain()
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if code, reported := cli.ExitCode(err); reported {
			os.Exit(code)
		}
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "microvm-api:", err)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return serve(args[1:], stderr)
		case "version", "--version":
			fmt.Fprintln(stdout, "microvm-api", version.Version)
			return nil
		}
	}
	// Every other command is a client of the daemon.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Run(ctx, args, os.Stdin, stdout, stderr)
}

func serve(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", daemon.DefaultListen, "loopback `address` to serve on; port 0 picks a free one")
	dataDir := fs.String("data-dir", "", "`directory` for records, profiles, the token and api.json (default per OS)")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	format := fs.String("log-format", "auto", "log `format`: auto (text on a terminal, else JSON), text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		return err
	}
	if *dataDir == "" {
		if *dataDir, err = api.DefaultDataDir(); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return daemon.Run(ctx, daemon.Options{
		Listen:  *listen,
		DataDir: *dataDir,
		Logger:  log,
		Version: version.Version,
	})
}

// newLogger builds the daemon's one logger: tint on a terminal, JSON
// otherwise (or as asked).
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	if format == "auto" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	switch format {
	case "text":
		return slog.New(tint.NewTextHandler(w, &tint.Options{
			Level: lv, TimeFormat: time.TimeOnly, NoColor: !isTerminal(w),
		})), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})), nil
	}
	return nil, fmt.Errorf("--log-format %q: use auto, text or json", format)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
