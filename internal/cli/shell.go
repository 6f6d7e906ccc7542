package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync"

	"golang.org/x/term"

	"github.com/velocitty/microvm/client"
)

// eot is the byte a terminal sends for end of input (Ctrl-D).
const eot = 0x04

func shellCommand() *command {
	return &command{
		name: "shell", args: "[VM] [-- ARGV...]", summary: "open an interactive terminal in a VM", complete: argVM,
		help: `Runs the guest user's login shell, or ARGV, on a terminal in the VM (the
"default" VM when VM is omitted) and exits with its exit status. On a
terminal, keys go to the guest as typed (Ctrl-C included) and the window
size follows yours. When standard input is not a terminal, its end is sent
as Ctrl-D.

Examples:
  microvm-api shell
  microvm-api shell work -- top
  echo 'uname -a; exit' | microvm-api shell`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			return func(ctx context.Context, args []string) error {
				vm, err := vmArg(args)
				if err != nil {
					return err
				}
				c, err := e.client()
				if err != nil {
					return err
				}
				return e.shell(ctx, c, vm, e.tail)
			}
		},
	}
}

// terminalSize returns the size of the terminal on the standard streams.
func (e *env) terminalSize() (cols, rows uint16, ok bool) {
	for _, s := range []any{e.stdout, e.stdin, e.stderr} {
		if fd, isFile := fdOf(s); isFile && term.IsTerminal(fd) {
			if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
				return uint16(min(w, 1000)), uint16(min(h, 1000)), true
			}
		}
	}
	return 0, 0, false
}

func (e *env) shell(ctx context.Context, c *client.Client, vm string, argv []string) error {
	inFd, inIsFile := fdOf(e.stdin)
	raw := inIsFile && term.IsTerminal(inFd)
	restore := func() {}
	if raw {
		old, err := term.MakeRaw(inFd)
		if err != nil {
			return fmt.Errorf("terminal raw mode: %w", err)
		}
		undoVT := enableVT(e.stdout)
		restore = sync.OnceFunc(func() { _ = term.Restore(inFd, old); undoVT() })
		defer restore()
	}
	// Raw mode comes first, so that keys typed while connecting are
	// buffered for the guest rather than interpreted here.
	cols, rows, _ := e.terminalSize()
	sh, err := c.Shell(ctx, vm, client.ShellOptions{Argv: argv, Cols: cols, Rows: rows})
	if err != nil {
		return err
	}
	defer sh.Close()

	stopResize := func() {}
	if raw {
		stopResize = watchResize(e.terminalSize, func(cols, rows uint16) { _ = sh.Resize(cols, rows) })
	}
	// The input pump is not waited for: a read of a terminal cannot be
	// interrupted, and the process exits once the shell ended.
	go pumpInput(sh, e.stdin, !raw)

	_, copyErr := io.Copy(e.stdout, sh)
	stopResize()
	restore()
	if copyErr != nil {
		return copyErr
	}
	st, err := sh.Status()
	if err != nil {
		return err
	}
	if st.Reason != "" {
		fmt.Fprintf(e.stderr, "microvm-api: shell ended: %s\n", st.Reason)
	}
	return e.guestExit(st.ExitCode, st.Signal, false)
}

// pumpInput copies in to the shell; at the end of a non-terminal input it
// sends Ctrl-D so that the guest's shell sees the end too.
func pumpInput(sh *client.Shell, in io.Reader, sendEOT bool) {
	// A failed write means the session ended; the output side reports why.
	if _, err := io.Copy(sh, in); err == nil && sendEOT {
		_, _ = sh.Write([]byte{eot})
	}
}
