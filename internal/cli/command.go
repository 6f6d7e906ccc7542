package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is a node of the command tree: a group with subcommands, or a
// leaf whose setup registers its flags and returns what it does.
type command struct {
	name    string
	args    string // positional arguments in the synopsis, e.g. "[VM]"
	summary string // one line
	help    string // details and examples, shown by --help
	sub     []*command
	setup   func(e *env, fs *flag.FlagSet) action
	// complete says what positional arguments are: argVM, argProfile,
	// argFile, argShell or "" (nothing to complete).
	complete string
	// strict stops flag parsing at the first positional argument, so that
	// a guest command line after it is passed as it is.
	strict bool
}

// What positional arguments of a command complete to.
const (
	argVM      = "vm"
	argProfile = "profile"
	argFile    = "file"
	argShell   = "shell"
)

// action runs a leaf command with its positional arguments.
type action func(ctx context.Context, args []string) error

func (c *command) find(name string) *command {
	for _, s := range c.sub {
		if s.name == name {
			return s
		}
	}
	return nil
}

// synopsis is the one-line usage of cmd.
func synopsis(cmd *command, path []string) string {
	s := strings.Join(path, " ")
	switch {
	case len(cmd.sub) > 0:
		s += " COMMAND [flags]"
	case cmd.setup != nil:
		s += " [flags]"
	}
	if cmd.args != "" {
		s += " " + cmd.args
	}
	return s
}

// help writes the full help of cmd.
func (e *env) help(w io.Writer, cmd *command, path []string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", synopsis(cmd, path), cmd.summary)
	if len(cmd.sub) > 0 {
		fmt.Fprintln(w, "\nCommands:")
		for _, s := range cmd.sub {
			fmt.Fprintf(w, "  %-12s %s\n", s.name, s.summary)
		}
	}
	if cmd.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.help))
	}
	printFlags(w, fs)
	if len(cmd.sub) > 0 {
		fmt.Fprintf(w, "\nRun '%s COMMAND --help' for the flags and examples of a command.\n", strings.Join(path, " "))
	}
}

// printFlags lists the flags of fs with the double dashes users type.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			fmt.Fprintln(w, "\nFlags:")
			first = false
		}
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			usage += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, usage)
	})
}

// parseArgs parses flags anywhere among the positional arguments (as in
// "vm start work --json") unless strict, which stops at the first one. It
// returns the positional arguments before "--" and those after it.
func parseArgs(fs *flag.FlagSet, args []string, strict bool) (pos, tail []string, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		rest := fs.Args()
		switch {
		case len(args) > len(rest) && args[len(args)-len(rest)-1] == "--":
			return pos, rest, nil
		case len(rest) == 0:
			return pos, nil, nil
		case strict:
			return append(pos, rest...), nil, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
