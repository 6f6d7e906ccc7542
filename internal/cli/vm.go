package cli

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
)

// defaultVM is the VM commands act on when none is named.
const defaultVM = "default"

func vmCommand() *command {
	return &command{
		name:    "vm",
		summary: "list, create, start, stop and remove VMs; run programs in them",
		help: `Commands that take [VM] act on the VM named "default" when it is omitted.

Examples:
  microvm-api vm ls
  microvm-api vm create work --backend linux
  microvm-api vm start work
  microvm-api vm exec --vm work -- uname -a
  microvm-api vm rm work --force`,
		sub: []*command{
			vmList(),
			vmCreate(),
			vmLifecycle("start", "boot a VM and wait until its agent answers", (*client.Client).StartVM, true),
			vmLifecycle("stop", "shut a VM down gracefully", (*client.Client).StopVM, true),
			vmLifecycle("pause", "freeze a running VM", (*client.Client).PauseVM, false),
			vmLifecycle("resume", "thaw a paused VM", (*client.Client).ResumeVM, false),
			vmLifecycle("kill", "end a VM at once", (*client.Client).KillVM, false),
			vmRemove(),
			vmExec(),
		},
	}
}

// vmArg returns the VM named by args, or the default one.
func vmArg(args []string) (string, error) {
	switch len(args) {
	case 0:
		return defaultVM, nil
	case 1:
		return args[0], nil
	}
	return "", usagef("unexpected argument %q", args[1])
}

func vmList() *command {
	return &command{
		name: "ls", summary: "list VMs",
		help: `Columns: NAME, BACKEND, STATE, SOCKS (the proxy's address) and AGE/REASON:
how long the VM has been in its state, or why it failed or stopped.

Examples:
  microvm-api vm ls
  microvm-api vm ls --json | jq -r '.vms[].name'`,
		setup: func(e *env, fs *flag.FlagSet) action {
			return listAction(e, fs, (*client.Client).ListVMs,
				func(vms []api.VM) any { return api.VMList{VMs: vms} },
				func(vm api.VM) string { return vm.Name },
				func(vms []api.VM) error { return e.vmTable(vms, time.Now()) })
		},
	}
}

func (e *env) vmTable(vms []api.VM, now time.Time) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tBACKEND\tSTATE\tSOCKS\tAGE/REASON")
	for _, vm := range vms {
		socks := vm.SocksAddress
		if socks == "" {
			socks = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", vm.Name, vm.Backend, vm.State, socks, ageOrReason(vm, now))
	}
	return tw.Flush()
}

func ageOrReason(vm api.VM, now time.Time) string {
	if vm.Reason != "" {
		return vm.Reason
	}
	since := vm.UpdatedAt
	if vm.State == api.VMStateRunning && !vm.StartedAt.IsZero() {
		since = vm.StartedAt
	}
	if since.IsZero() {
		return "-"
	}
	return age(now.Sub(since))
}

// age is a short human duration: 45s, 12m, 3h, 5d.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func vmCreate() *command {
	return &command{
		name: "create", args: "NAME", summary: "record a new VM (it is not started)",
		help: `NAME has lower-case letters, digits and dashes, 1 to 32 characters.

Examples:
  microvm-api vm create work
  microvm-api vm create work --backend wsl`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			e.jsonFlag(fs)
			backend := fs.String("backend", "auto", "`backend` that runs the guest: auto, linux or wsl")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one VM name")
				}
				switch *backend {
				case "auto", "linux", "wsl":
				default:
					return usagef("--backend %q: use auto, linux or wsl", *backend)
				}
				c, err := e.client()
				if err != nil {
					return err
				}
				vm, err := c.CreateVM(ctx, args[0], *backend)
				if err != nil {
					return err
				}
				return e.printVM(vm, "created")
			}
		},
	}
}

// printVM prints a VM after an operation: JSON, or one line.
func (e *env) printVM(vm api.VM, verb string) error {
	if e.json {
		return e.printJSON(vm)
	}
	fmt.Fprintf(e.stdout, "VM %s %s (%s)", vm.Name, verb, vm.State)
	if vm.State == api.VMStateRunning && vm.SocksAddress != "" {
		fmt.Fprintf(e.stdout, ", SOCKS5 proxy on %s", vm.SocksAddress)
	}
	if vm.Reason != "" {
		fmt.Fprintf(e.stdout, ": %s", vm.Reason)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

type vmOp func(*client.Client, context.Context, string) (api.VM, error)

func vmLifecycle(name, summary string, op vmOp, slow bool) *command {
	return &command{
		name: name, args: "[VM]", summary: summary, complete: argVM,
		help: fmt.Sprintf(`Acts on the VM named "default" when VM is omitted. Repeating an
operation whose state is already reached is harmless.

Examples:
  microvm-api vm %[1]s
  microvm-api vm %[1]s work --json`, name),
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			e.jsonFlag(fs)
			return func(ctx context.Context, args []string) error {
				vm, err := vmArg(args)
				if err != nil {
					return err
				}
				c, err := e.client()
				if err != nil {
					return err
				}
				var label string
				if slow {
					label = e.slowLabel(ctx, c, name, vm)
				}
				var res api.VM
				err = e.progress(ctx, label, func(ctx context.Context) error {
					res, err = op(c, ctx, vm)
					return err
				})
				if err != nil {
					return err
				}
				return e.printVM(res, pastTense[name])
			}
		},
	}
}

var pastTense = map[string]string{
	"start": "started", "stop": "stopped", "pause": "paused", "resume": "resumed", "kill": "killed",
}

// slowLabel is the progress line of a start or stop; a first start also
// unpacks the guest image and provisions it, which takes longer.
func (e *env) slowLabel(ctx context.Context, c *client.Client, op, name string) string {
	if op != "start" {
		return "stopping VM " + name
	}
	label := "starting VM " + name
	if vm, err := c.GetVM(ctx, name); err == nil && vm.StartedAt.IsZero() {
		label += " (first start: unpacking the guest image and provisioning)"
	}
	return label
}

func vmRemove() *command {
	return &command{
		name: "rm", args: "NAME", summary: "remove a stopped VM and its data", complete: argVM,
		help: `Examples:
  microvm-api vm rm work
  microvm-api vm rm work --force   # kill it first if it runs`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			force := fs.Bool("force", false, "kill the VM first if it is not stopped")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one VM name")
				}
				c, err := e.client()
				if err != nil {
					return err
				}
				if *force {
					if _, err := c.KillVM(ctx, args[0]); err != nil {
						return err
					}
				} else {
					vm, err := c.GetVM(ctx, args[0])
					if err != nil {
						return err
					}
					switch vm.State {
					case api.VMStateCreated, api.VMStateStopped, api.VMStateError:
					default:
						return fmt.Errorf("VM %s is %s: stop it first, or use --force", vm.Name, vm.State)
					}
				}
				if err := c.DeleteVM(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "VM %s removed\n", args[0])
				return nil
			}
		},
	}
}
