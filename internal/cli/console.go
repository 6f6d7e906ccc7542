package cli

import (
	"context"
	"flag"
	"fmt"
	"time"
)

func consoleCommand() *command {
	return &command{
		name: "console", summary: "print a one-time link that logs a browser into the web console",
		help: `The link works once, within a minute; open it in a browser on this machine.

Examples:
  microvm-api console
  xdg-open "$(microvm-api console)"`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			e.jsonFlag(fs)
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				c, err := e.client()
				if err != nil {
					return err
				}
				login, err := c.ConsoleLogin(ctx)
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSON(login)
				}
				fmt.Fprintln(e.stdout, login.URL)
				if isTerminal(e.stderr) {
					fmt.Fprintf(e.stderr, "open it in a browser before %s\n", login.ExpiresAt.Local().Format(time.TimeOnly))
				}
				return nil
			}
		},
	}
}
