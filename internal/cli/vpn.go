package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
)

func vpnCommand() *command {
	return &command{
		name:    "vpn",
		summary: "manage OpenVPN profiles and a VM's tunnel",
		help: `While a VM's VPN is connected, its SOCKS5 proxy goes through the tunnel only;
it never falls back to the direct route.

Examples:
  microvm-api vpn profile add work work.ovpn --username alice
  microvm-api vpn connect work
  microvm-api vpn status
  microvm-api vpn disconnect`,
		sub: []*command{profileCommand(), vpnConnect(), vpnDisconnect(), vpnStatus()},
	}
}

func vpnConnect() *command {
	return &command{
		name: "connect", args: "PROFILE", summary: "connect a VM's proxy through a VPN profile", complete: argProfile,
		help: `Answers once the connection attempt has begun; follow it with
"microvm-api vpn status" or "microvm-api events".

Examples:
  microvm-api vpn connect work
  microvm-api vpn connect --vm lab home`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			e.jsonFlag(fs)
			vm := fs.String("vm", defaultVM, "the `VM` whose proxy uses the tunnel")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one profile name")
				}
				return e.vpnCall(ctx, func(c *client.Client) (api.VPNStatus, error) {
					return c.ConnectVPN(ctx, *vm, args[0])
				})
			}
		},
	}
}

func vpnDisconnect() *command {
	return &command{
		name: "disconnect", summary: "stop a VM's VPN; its proxy connects directly again",
		help: `Examples:
  microvm-api vpn disconnect
  microvm-api vpn disconnect --vm lab`,
		setup: func(e *env, fs *flag.FlagSet) action {
			return e.vmVPNAction(fs, (*client.Client).DisconnectVPN)
		},
	}
}

func vpnStatus() *command {
	return &command{
		name: "status", summary: "show a VM's VPN state",
		help: `Examples:
  microvm-api vpn status
  microvm-api vpn status --vm lab --json`,
		setup: func(e *env, fs *flag.FlagSet) action {
			return e.vmVPNAction(fs, (*client.Client).VPNStatus)
		},
	}
}

// vmVPNAction is the action of a command that takes no arguments, calls
// call for the VM of --vm and prints the tunnel's status.
func (e *env) vmVPNAction(fs *flag.FlagSet, call func(*client.Client, context.Context, string) (api.VPNStatus, error)) action {
	e.daemonFlags(fs)
	e.jsonFlag(fs)
	vm := fs.String("vm", defaultVM, "the `VM`")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected argument %q", args[0])
		}
		return e.vpnCall(ctx, func(c *client.Client) (api.VPNStatus, error) {
			return call(c, ctx, *vm)
		})
	}
}

func (e *env) vpnCall(ctx context.Context, call func(*client.Client) (api.VPNStatus, error)) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	st, err := call(c)
	if err != nil {
		return err
	}
	if e.json {
		return e.printJSON(st)
	}
	return printVPNStatus(e, st, time.Now())
}

func printVPNStatus(e *env, st api.VPNStatus, now time.Time) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "State:\t%s\n", st.State)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Profile", st.Profile)
	row("Server", st.Server)
	row("Tunnel", strings.Join(st.TunnelAddresses, ", "))
	if !st.Since.IsZero() {
		row("Since", st.Since.Local().Format(time.DateTime)+" ("+age(now.Sub(st.Since))+" ago)")
	}
	if st.BytesIn > 0 || st.BytesOut > 0 {
		row("Traffic", fmt.Sprintf("%d bytes in, %d bytes out", st.BytesIn, st.BytesOut))
	}
	if st.Retries > 0 {
		row("Retries", fmt.Sprint(st.Retries))
	}
	row("Last error", st.LastError)
	return tw.Flush()
}
