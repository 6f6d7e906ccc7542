package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
)

// Environment variables that point the CLI at a daemon.
const (
	EnvURL     = "MICROVM_URL"      // the daemon's base URL
	EnvToken   = "MICROVM_TOKEN"    // its bearer token
	EnvDataDir = "MICROVM_DATA_DIR" // its data directory
)

// env is what every command shares: the standard streams and how to find
// the daemon.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	dataDir   string
	url       string
	tokenFile string
	json      bool
	tail      []string // the arguments after "--"
}

// daemonFlags registers the flags that locate the daemon.
func (e *env) daemonFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.dataDir, "data-dir", e.dataDir, "the daemon's data `directory` (default per OS, or $"+EnvDataDir+")")
	fs.StringVar(&e.url, "url", e.url, "the daemon's base `URL` instead of the data directory's api.json (or $"+EnvURL+")")
	fs.StringVar(&e.tokenFile, "token-file", e.tokenFile, "`file` holding the bearer token, with --url (or $"+EnvToken+" holding the token itself)")
}

// jsonFlag registers --json.
func (e *env) jsonFlag(fs *flag.FlagSet) {
	fs.BoolVar(&e.json, "json", e.json, "print the API's JSON instead of a table")
}

// errNoDaemon means no daemon published its address in the data directory.
var errNoDaemon = errors.New("no daemon found")

// client returns a client for the daemon the flags and environment name.
func (e *env) client() (*client.Client, error) {
	url := firstOf(e.url, os.Getenv(EnvURL))
	dir := firstOf(e.dataDir, os.Getenv(EnvDataDir))
	if dir == "" {
		var err error
		if dir, err = client.DefaultDataDir(); err != nil {
			return nil, err
		}
	}
	if url == "" {
		if _, err := os.Stat(filepath.Join(dir, api.DiscoveryFile)); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s: is the daemon running? (start it with: microvm-api serve --data-dir %s)", errNoDaemon, dir, dir)
		}
		return client.FromDataDir(dir)
	}
	token := os.Getenv(EnvToken)
	tokenFile := e.tokenFile
	if tokenFile == "" && token == "" {
		tokenFile = filepath.Join(dir, api.TokenFile)
	}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("read token: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	return client.New(url, token)
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// report prints err on stderr and returns the exit status it deserves.
func (e *env) report(err error) int {
	var apiErr *client.Error
	switch {
	case errors.As(err, &apiErr):
		msg := firstOf(apiErr.Detail, apiErr.Title, fmt.Sprintf("HTTP %d", apiErr.Status))
		fmt.Fprintf(e.stderr, "error: %s (%s)\n", msg, firstOf(apiErr.Code, fmt.Sprint(apiErr.Status)))
		if apiErr.Directive != "" && !strings.Contains(msg, fmt.Sprintf("line %d", apiErr.Line)) {
			fmt.Fprintf(e.stderr, "  line %d: the directive %q is not allowed in a profile\n", apiErr.Line, apiErr.Directive)
		}
		if apiErr.Code == "not_implemented" {
			fmt.Fprintln(e.stderr, "  this daemon does not offer that yet; a newer microvm-api may")
		}
		return ExitFailed
	case unreachable(err):
		fmt.Fprintf(e.stderr, "error: %v\n", err)
		return ExitUnreachable
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(e.stderr, "interrupted")
		return ExitInterrupted
	}
	fmt.Fprintf(e.stderr, "error: %v\n", err)
	return ExitFailed
}

// unreachable reports whether err means the daemon is not there.
func unreachable(err error) bool {
	if errors.Is(err, errNoDaemon) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// printJSON writes v as indented JSON.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// fdOf returns the file descriptor behind a stream, if it is a file.
func fdOf(v any) (int, bool) {
	f, ok := v.(interface{ Fd() uintptr })
	if !ok {
		return 0, false
	}
	return int(f.Fd()), true
}

// listAction is the action of an "ls" command: it takes no arguments,
// lists with list, and prints the list as JSON (--json), as names one a
// line (--names) or as table's table.
func listAction[T any](e *env, fs *flag.FlagSet, list func(*client.Client, context.Context) ([]T, error),
	asJSON func([]T) any, name func(T) string, table func([]T) error) action {
	e.daemonFlags(fs)
	e.jsonFlag(fs)
	names := fs.Bool("names", false, "print only the names, one a line")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected argument %q", args[0])
		}
		c, err := e.client()
		if err != nil {
			return err
		}
		items, err := list(c, ctx)
		if err != nil {
			return err
		}
		switch {
		case e.json:
			return e.printJSON(asJSON(items))
		case *names:
			for _, it := range items {
				fmt.Fprintln(e.stdout, name(it))
			}
			return nil
		}
		return table(items)
	}
}
