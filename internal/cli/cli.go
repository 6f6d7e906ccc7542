// Package cli is the command-line interface of microvm-api: the commands
// other than serve and version, which talk to a running daemon through the
// Go client. Output is a human table by default and the API's JSON with
// --json; the exit status says what went wrong (see ExitCode).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit statuses of the commands. vm exec and shell exit with the status of
// the guest's program instead.
const (
	ExitOK          = 0
	ExitFailed      = 1 // the daemon refused or failed the operation
	ExitUsage       = 2 // bad command line
	ExitUnreachable = 3 // the daemon is not running or cannot be reached
	ExitInterrupted = 130
)

// ExitError carries the exit status of a command whose failure was already
// reported on standard error.
type ExitError struct {
	Code int
	Err  error // nil when the status comes from a guest program
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode returns the process exit status for an error of Run, and
// whether Run already reported it (so the caller prints nothing more).
func ExitCode(err error) (code int, reported bool) {
	if err == nil {
		return ExitOK, true
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code, true
	}
	return ExitFailed, false
}

// Run runs the command line args (without the program name), reading
// stdin and writing to stdout and stderr. It reports failures on stderr
// itself and returns an *ExitError with the exit status, or nil.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	err := e.run(ctx, root(), nil, args)
	if err == nil {
		return nil
	}
	code, reported := ExitCode(err)
	if !reported {
		code = e.report(err)
	}
	return &ExitError{Code: code, Err: err}
}

// run parses args for cmd (reached through path) and runs it or one of its
// subcommands.
func (e *env) run(ctx context.Context, cmd *command, path []string, args []string) error {
	path = append(path, cmd.name)
	fs := flag.NewFlagSet(strings.Join(path, " "), flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {}
	var act action
	if cmd.setup != nil {
		act = cmd.setup(e, fs)
	} else {
		e.daemonFlags(fs) // a group passes them on to its commands
	}
	var rest []string
	var err error
	if len(cmd.sub) > 0 {
		err = fs.Parse(args)
		rest = fs.Args()
	} else {
		rest, e.tail, err = parseArgs(fs, args, cmd.strict)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.help(e.stdout, cmd, path, fs)
			return nil
		}
		return e.usageError(cmd, path, "")
	}
	if len(cmd.sub) > 0 {
		if len(rest) == 0 {
			e.help(e.stderr, cmd, path, fs)
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: missing command", strings.Join(path, " "))}
		}
		if rest[0] == "help" {
			return e.helpFor(cmd, path, rest[1:])
		}
		sub := cmd.find(rest[0])
		if sub == nil {
			return e.usageError(cmd, path, fmt.Sprintf("unknown command %q", rest[0]))
		}
		return e.run(ctx, sub, path, rest[1:])
	}
	if err := act(ctx, rest); err != nil {
		var ue usageErr
		if errors.As(err, &ue) {
			return e.usageError(cmd, path, string(ue))
		}
		return err
	}
	return nil
}

// helpFor prints the help of the command named by args below cmd.
func (e *env) helpFor(cmd *command, path, args []string) error {
	for _, a := range args {
		sub := cmd.find(a)
		if sub == nil {
			return e.usageError(cmd, path, fmt.Sprintf("unknown command %q", a))
		}
		cmd, path = sub, append(path, sub.name)
	}
	fs := flag.NewFlagSet(strings.Join(path, " "), flag.ContinueOnError)
	if cmd.setup != nil {
		cmd.setup(e, fs)
	} else {
		e.daemonFlags(fs)
	}
	e.help(e.stdout, cmd, path, fs)
	return nil
}

// usageErr is a command-line mistake found by an action.
type usageErr string

func (u usageErr) Error() string { return string(u) }

func usagef(format string, a ...any) error { return usageErr(fmt.Sprintf(format, a...)) }

// usageError reports a command-line mistake with a short usage and
// returns the usage exit status.
func (e *env) usageError(cmd *command, path []string, msg string) error {
	name := strings.Join(path, " ")
	if msg != "" {
		fmt.Fprintf(e.stderr, "%s: %s\n", name, msg)
	}
	fmt.Fprintf(e.stderr, "usage: %s\nRun '%s --help' for more.\n", synopsis(cmd, path), name)
	if msg == "" {
		msg = "bad flags"
	}
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %s", name, msg)}
}
