package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/velocitty/microvm/api"
)

// maxExecStdin bounds the input sent with vm exec --stdin.
const maxExecStdin = 16 << 20

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func vmExec() *command {
	return &command{
		name: "exec", args: "[--] ARGV...", summary: "run a program in a VM and exit with its status",
		strict: true,
		help: `Runs ARGV in the VM (the program is looked up in the guest's PATH), prints
its output and exits with its exit status. Output is bounded by the
daemon; the program is not attached to a terminal (use shell for that).
A program killed by a signal exits 128+N; one killed by --timeout, 124.

Examples:
  microvm-api vm exec -- uname -a
  microvm-api vm exec --vm work --timeout 10 -- ping -c 1 10.8.0.1
  echo hello | microvm-api vm exec --stdin -- cat`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			e.jsonFlag(fs)
			vm := fs.String("vm", defaultVM, "the `VM` to run in")
			stdin := fs.Bool("stdin", false, "send standard input to the program")
			timeout := fs.Int("timeout", 0, "kill the program after this many `seconds` (0: the agent's default)")
			dir := fs.String("dir", "", "working `directory` in the guest (default /)")
			var envs stringList
			fs.Var(&envs, "env", "`KEY=VALUE` added to the program's environment (repeatable)")
			return func(ctx context.Context, args []string) error {
				args = append(args, e.tail...)
				if len(args) == 0 {
					return usagef("missing the program to run")
				}
				if *timeout < 0 {
					return usagef("--timeout must not be negative")
				}
				req := api.ExecRequest{Argv: args, Dir: *dir, Env: envs, TimeoutSeconds: *timeout}
				if *stdin {
					b, err := io.ReadAll(io.LimitReader(e.stdin, maxExecStdin+1))
					if err != nil {
						return fmt.Errorf("read standard input: %w", err)
					}
					if len(b) > maxExecStdin {
						return fmt.Errorf("standard input is larger than %d MiB; use shell to stream it", maxExecStdin>>20)
					}
					req.Stdin = string(b)
				}
				c, err := e.client()
				if err != nil {
					return err
				}
				res, err := c.Exec(ctx, *vm, req)
				if err != nil {
					return err
				}
				if e.json {
					if err := e.printJSON(res); err != nil {
						return err
					}
				} else {
					io.WriteString(e.stdout, res.Stdout)
					io.WriteString(e.stderr, res.Stderr)
					if res.StdoutTruncated || res.StderrTruncated {
						fmt.Fprintln(e.stderr, "microvm-api: the output was truncated by the daemon")
					}
				}
				return e.guestExit(res.ExitCode, res.Signal, res.TimedOut)
			}
		},
	}
}

// signalNumbers maps the names Go gives common signals to their numbers
// on Linux, for the 128+N exit convention of shells.
var signalNumbers = map[string]int{
	"hangup": 1, "interrupt": 2, "quit": 3, "aborted": 6, "killed": 9,
	"segmentation fault": 11, "broken pipe": 13, "terminated": 15,
}

// guestExit turns the end of a guest program into this process's exit.
func (e *env) guestExit(code int, signal string, timedOut bool) error {
	switch {
	case timedOut:
		fmt.Fprintln(e.stderr, "microvm-api: the program timed out and was killed")
		code = 124
	case signal != "":
		fmt.Fprintf(e.stderr, "microvm-api: the program was ended by signal %q\n", signal)
		code = 255
		if n, ok := signalNumbers[signal]; ok {
			code = 128 + n
		}
	case code < 0 || code > 255:
		code = 255
	}
	if code == 0 {
		return nil
	}
	return &ExitError{Code: code}
}
