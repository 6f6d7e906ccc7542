package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
)

func logsCommand() *command {
	return &command{
		name: "logs", args: "[VM]", summary: "print a VM's recent agent and VPN logs", complete: argVM,
		help: `Examples:
  microvm-api logs
  microvm-api logs work --limit 50
  microvm-api logs --json`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			e.jsonFlag(fs)
			limit := fs.Int("limit", 0, "at most this many `entries`, the newest (0: the daemon's default)")
			return func(ctx context.Context, args []string) error {
				vm, err := vmArg(args)
				if err != nil {
					return err
				}
				if *limit < 0 {
					return usagef("--limit must not be negative")
				}
				c, err := e.client()
				if err != nil {
					return err
				}
				entries, err := c.Logs(ctx, vm, *limit)
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSON(api.LogList{Entries: entries})
				}
				for _, l := range entries {
					fmt.Fprintf(e.stdout, "%s %-5s %-5s %s\n", l.Time.Local().Format(time.DateTime), l.Level, l.Source, l.Message)
				}
				return nil
			}
		},
	}
}

func eventsCommand() *command {
	return &command{
		name: "events", summary: "print VM and VPN state changes as they happen, until interrupted",
		help: `Events the daemon still holds are printed first; --after ID skips those up
to ID (to resume after the last one seen). Runs until Ctrl-C.

Examples:
  microvm-api events
  microvm-api events --json --after 41`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			e.jsonFlag(fs)
			after := fs.Uint64("after", 0, "print only events with an `ID` above this one")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				c, err := e.client()
				if err != nil {
					return err
				}
				err = e.followEvents(ctx, c, *after)
				if ctx.Err() != nil {
					return nil // interrupted: the normal end
				}
				return err
			}
		},
	}
}

// followEvents prints events until ctx ends. When the daemon ends a
// stream (it drops slow readers, or it is shutting down) it reconnects
// from the last ID seen, a few times with backoff; a daemon that is gone
// ends it.
func (e *env) followEvents(ctx context.Context, c *client.Client, after uint64) error {
	const attempts = 5
	failures := 0
	for {
		s, err := c.Events(ctx, after)
		if err == nil {
			var progressed bool
			progressed, err = e.printEvents(s, &after)
			s.Close()
			if progressed {
				failures = 0
			}
			if errors.Is(err, io.EOF) {
				err = errors.New("events: the daemon ended the stream")
			}
		}
		failures++
		if ctx.Err() != nil || unreachable(err) || failures >= attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(failures) * 100 * time.Millisecond):
		}
	}
}

func (e *env) printEvents(s *client.EventStream, after *uint64) (progressed bool, err error) {
	for {
		ev, err := s.Next()
		if err != nil {
			return progressed, err
		}
		progressed = true
		if ev.ID > 0 {
			*after = uint64(ev.ID)
		}
		if e.json {
			if err := json.NewEncoder(e.stdout).Encode(ev); err != nil { // one event a line
				return progressed, err
			}
			continue
		}
		line := fmt.Sprintf("%s %5d %-11s %s", ev.Time.Local().Format(time.DateTime), ev.ID, ev.Type, ev.VM)
		if ev.State != "" {
			line += " " + ev.State
		}
		if ev.Reason != "" {
			line += ": " + ev.Reason
		}
		fmt.Fprintln(e.stdout, line)
	}
}
