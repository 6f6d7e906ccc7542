//go:build linux

package wslemu

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Main runs the emulator with the arguments that follow the program name
// and returns the exit status.
func Main(args []string) int {
	if len(args) > 0 && args[0] == initRole {
		return runInit(args[1:])
	}
	out := newPrinter(os.Stdout)
	switch os.Getenv(EnvFault) {
	case "stall": // wsl.exe hanging forever (the reference's complaint 2)
		for {
			time.Sleep(time.Hour)
		}
	case "not-installed":
		return out.report(errf("Wsl/WSL_E_WSL_OPTIONAL_COMPONENT_REQUIRED", msgOptionalComponent))
	}
	st, err := openStore()
	if err != nil {
		return out.report(err)
	}
	c := &cli{st: st, out: out}
	code, err := c.run(args)
	if err != nil {
		return out.report(err)
	}
	return code
}

type cli struct {
	st  *store
	out printer
}

// run walks the leading options in order as WslMain does (the reference's
// argument parsing table): the first argument that is not an option
// starts a shell command line, "--exec" and "--" end option parsing,
// "-d" resolves the name at once (case-insensitively), and management
// commands take the rest. Unknown options are wsl.exe's "Invalid command
// line argument" error.
func (c *cli) run(args []string) (int, error) {
	var (
		name, user, cd string
		nameSet        bool
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", errf("", msgMissingParam, a)
			}
			i++
			return args[i], nil
		}
		var err error
		switch a {
		case "-d", "--distribution":
			if nameSet {
				return 0, errf("", msgDistroAlreadySet)
			}
			if name, err = value(); err != nil {
				return 0, err
			}
			nameSet = true
			if _, err := c.lookup(name); err != nil { // resolved at once
				return 0, err
			}
		case "-u", "--user":
			user, err = value()
		case "--cd":
			cd, err = value()
		case "--shell-type":
			_, err = value()
		case "-e", "--exec":
			if i+1 >= len(args) {
				return 0, errf("", msgMissingParam, a)
			}
			return c.session(name, user, cd, args[i+1:], true)
		case "--":
			return c.session(name, user, cd, args[i+1:], false)
		case "--help":
			c.out.line("%s", msgUsage)
			return exitWSL, nil
		case "--import":
			return c.importCmd(args[i+1:])
		case "-l", "--list":
			return c.list(args[i+1:])
		case "-s", "--set-default":
			return c.setDefault(args[i+1:])
		case "-t", "--terminate":
			return c.terminate(args[i+1:])
		case "--unregister":
			return c.unregister(args[i+1:])
		case "--shutdown":
			return c.shutdown()
		case "--status":
			return c.status()
		case "-v", "--version":
			c.out.line("%s", msgVersions)
			return 0, nil
		default:
			if strings.HasPrefix(a, "-") {
				return 0, errf("", msgInvalidArg, a)
			}
			return c.session(name, user, cd, args[i:], false)
		}
		if err != nil {
			return 0, err
		}
	}
	return c.session(name, user, cd, nil, false)
}

// withDistro runs fn under the state lock with the loaded registry and
// the index of the named distribution (found case-insensitively); a name
// not registered is wsl.exe's not-found error.
func (c *cli) withDistro(name string, fn func(r *registry, i int) error) error {
	return c.st.locked(func() error {
		r, err := c.st.load()
		if err != nil {
			return err
		}
		i, ok := r.find(name)
		if !ok {
			return errNotFound()
		}
		return fn(r, i)
	})
}

// lookup finds a registered distribution, case-insensitively.
func (c *cli) lookup(name string) (d distro, err error) {
	err = c.withDistro(name, func(r *registry, i int) error {
		d = r.Distros[i]
		return nil
	})
	return d, err
}

func (c *cli) one(args []string, flag string) (string, error) {
	if len(args) < 1 {
		return "", errf("", msgMissingParam, flag)
	}
	if len(args) > 1 {
		return "", errf("", msgInvalidArg, args[1])
	}
	return args[0], nil
}

func (c *cli) setDefault(args []string) (int, error) {
	name, err := c.one(args, "--set-default")
	if err != nil {
		return 0, err
	}
	err = c.withDistro(name, func(r *registry, i int) error {
		r.Default = r.Distros[i].Name
		return c.st.save(r)
	})
	if err != nil {
		return 0, err
	}
	c.out.line(msgOK)
	return 0, nil
}

// terminate stops the instance at once, even with clients attached
// (their wsl.exe exits 1); a stopped distribution is no error (the
// reference's per-command contract for -t/--terminate).
func (c *cli) terminate(args []string) (int, error) {
	name, err := c.one(args, "--terminate")
	if err != nil {
		return 0, err
	}
	err = c.withDistro(name, func(r *registry, i int) error {
		c.st.terminate(r.Distros[i].Name)
		return nil
	})
	if err != nil {
		return 0, err
	}
	c.out.line(msgOK)
	return 0, nil
}

// unregister deletes the distribution's disk and registration; when it
// was the default, the first remaining one becomes the default (the
// reference's per-command contract for --unregister; "Unregistering." is
// printed only on a console, never under a pipe).
func (c *cli) unregister(args []string) (int, error) {
	name, err := c.one(args, "--unregister")
	if err != nil {
		return 0, err
	}
	err = c.withDistro(name, func(r *registry, i int) error {
		d := r.Distros[i]
		c.st.terminate(d.Name)
		if err := os.RemoveAll(d.rootfs()); err != nil {
			return errf("Wsl/Service/UnregisterDistro/E_FAIL", "%s (%v)", msgUnspecified, err)
		}
		os.Remove(d.BasePath) // only if empty, like the disk's directory
		os.Remove(c.st.sockFile(d.Name))
		os.Remove(strings.TrimSuffix(c.st.runFile(d.Name), ".json") + ".log")
		r.Distros = append(r.Distros[:i], r.Distros[i+1:]...)
		if strings.EqualFold(r.Default, d.Name) {
			r.Default = ""
			if len(r.Distros) > 0 {
				r.Default = r.Distros[0].Name
			}
		}
		return c.st.save(r)
	})
	if err != nil {
		return 0, err
	}
	c.out.line(msgOK)
	return 0, nil
}

// shutdown stops every instance. microvm must never call it; the
// emulator has it so that a test can prove the runner refuses.
func (c *cli) shutdown() (int, error) {
	return 0, c.st.locked(func() error {
		r, err := c.st.load()
		if err != nil {
			return err
		}
		for _, d := range r.Distros {
			c.st.terminate(d.Name)
		}
		return nil
	})
}

// status prints "wsl --status" as current builds do: the default
// distribution if any, the default version, and the WSL1 and
// virtualization messages when the fault knobs say those are missing.
func (c *cli) status() (int, error) {
	var def string
	if err := c.st.locked(func() error {
		r, err := c.st.load()
		def = r.Default
		return err
	}); err != nil {
		return 0, err
	}
	var b strings.Builder
	if def != "" {
		fmt.Fprintf(&b, "Default Distribution: %s\n", def)
	}
	switch os.Getenv(EnvFault) {
	case "no-virtualization":
		fmt.Fprintf(&b, "Default Version: 2\n%s\n%s", msgWSL1Unsupported, msgEnableVirt)
	case "wsl1-only":
		fmt.Fprintf(&b, "Default Version: 1\n%s", msgEnableVirt)
	default:
		b.WriteString("Default Version: 2")
	}
	c.out.line("%s", b.String())
	return 0, nil
}
