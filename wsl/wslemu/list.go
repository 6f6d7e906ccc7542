//go:build linux

package wslemu

import (
	"fmt"
	"strings"
)

// list implements -l/--list with --all, --running, --quiet, --verbose
// per the reference's list behaviours: "-l -v" and plain "-l" fail with
// the no-distribution message when nothing is registered, "-q" prints
// nothing and succeeds, "--running" without "-q" fails when none runs.
func (c *cli) list(args []string) (int, error) {
	var all, running, quiet, verbose, online bool
	for _, a := range args {
		switch a {
		case "--all":
			all = true
		case "--running":
			running = true
		case "-q", "--quiet":
			quiet = true
		case "-v", "--verbose":
			verbose = true
		case "-o", "--online":
			online = true
		default:
			return 0, errf("", msgInvalidArg, a)
		}
	}
	if (quiet && verbose) || (all && running) || (online && (verbose || all)) || online {
		c.out.line("%s", msgUsage) // WSL_E_INVALID_USAGE prints the usage, no code line
		return exitWSL, nil
	}
	type row struct {
		d       distro
		running bool
	}
	var rows []row
	var def string
	err := c.st.locked(func() error {
		r, err := c.st.load()
		if err != nil {
			return err
		}
		def = r.Default
		for _, d := range r.ordered() {
			_, on := c.st.running(d.Name)
			if running && !on {
				continue
			}
			rows = append(rows, row{d, on})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		switch {
		case quiet:
			return 0, nil
		case running:
			return 0, errf("", msgNoRunning)
		default:
			return 0, errf("", msgNoDistros)
		}
	}
	var b strings.Builder
	switch {
	case quiet:
		for _, r := range rows {
			b.WriteString(r.d.Name + "\n")
		}
	case verbose:
		w := len("NAME")
		for _, r := range rows {
			w = max(w, len(r.d.Name))
		}
		w += 4
		fmt.Fprintf(&b, "%s %-*s%-16s%s\n", " ", w, "NAME", "STATE", "VERSION")
		for _, r := range rows {
			mark, state := " ", "Stopped"
			if strings.EqualFold(r.d.Name, def) {
				mark = "*"
			}
			if r.running {
				state = "Running"
			}
			fmt.Fprintf(&b, "%s %-*s%-16s%d\n", mark, w, r.d.Name, state, r.d.Version)
		}
	default:
		b.WriteString(msgListHeader + "\n")
		for _, r := range rows {
			if strings.EqualFold(r.d.Name, def) {
				b.WriteString(r.d.Name + " (Default)\n")
			} else {
				b.WriteString(r.d.Name + "\n")
			}
		}
	}
	c.out.raw(b.String())
	return 0, nil
}
