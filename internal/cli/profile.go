package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
)

// maxProfile bounds a .ovpn file read by profile add.
const maxProfile = 1 << 20

func profileCommand() *command {
	return &command{
		name:    "profile",
		summary: "add, list, show and remove OpenVPN profiles",
		help: `Profiles are checked when added: directives that run programs or touch the
host (up, script-security, plugin, ...) are refused. Credentials are stored
by the daemon and never shown.

Examples:
  microvm-api vpn profile add work work.ovpn --username alice
  printf '%s\n' "$PASS" | microvm-api vpn profile add work work.ovpn --username alice --password-stdin
  microvm-api vpn profile ls
  microvm-api vpn profile show work
  microvm-api vpn profile rm work`,
		sub: []*command{profileAdd(), profileList(), profileShow(), profileRemove()},
	}
}

func profileAdd() *command {
	return &command{
		name: "add", args: "NAME FILE.ovpn", summary: "store an OpenVPN profile", complete: argFile,
		help: `FILE "-" reads the profile from standard input. The password is never taken
from the command line: --password-stdin reads it from the first line of
standard input; otherwise, with --username on a terminal, it is asked for
without echo.

Examples:
  microvm-api vpn profile add work work.ovpn
  microvm-api vpn profile add work work.ovpn --username alice
  microvm-api vpn profile add work work.ovpn --replace`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			e.jsonFlag(fs)
			username := fs.String("username", "", "`user` name given to the VPN server when it asks")
			pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
			replace := fs.Bool("replace", false, "replace a profile of the same name (keeping stored credentials unless given)")
			return func(ctx context.Context, args []string) error {
				if len(args) != 2 {
					return usagef("want a profile name and a .ovpn file")
				}
				if args[1] == "-" && *pwStdin {
					return usagef("--password-stdin and FILE - both want standard input")
				}
				config, err := e.readProfile(args[1])
				if err != nil {
					return err
				}
				var user, pass *string
				if *username != "" {
					user = username
				}
				if pass, err = e.password(*pwStdin, *username); err != nil {
					return err
				}
				c, err := e.client()
				if err != nil {
					return err
				}
				var p api.VPNProfile
				if *replace {
					p, err = c.PutProfile(ctx, args[0], api.PutVPNProfileRequest{Name: args[0], Config: config, Username: user, Password: pass})
				} else {
					p, err = c.CreateProfile(ctx, api.CreateVPNProfileRequest{Name: args[0], Config: config, Username: user, Password: pass})
				}
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSON(p)
				}
				fmt.Fprintf(e.stdout, "profile %s stored (%s)\n", p.Name, remotes(p.Summary))
				if p.Summary.AuthUserPass && !p.HasPassword {
					fmt.Fprintln(e.stdout, "note: the server asks for a username and password; add them with --replace --username U")
				}
				return nil
			}
		},
	}
}

func (e *env) readProfile(name string) (string, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("read profile: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxProfile+1))
	if err != nil {
		return "", fmt.Errorf("read profile %s: %w", name, err)
	}
	if len(b) > maxProfile {
		return "", fmt.Errorf("read profile %s: larger than %d KiB", name, maxProfile>>10)
	}
	return string(b), nil
}

func remotes(s api.VPNProfileSummary) string {
	var rs []string
	for _, r := range s.Remotes {
		proto := firstOf(r.Proto, s.Proto)
		rs = append(rs, fmt.Sprintf("%s:%d/%s", r.Host, r.Port, proto))
	}
	if len(rs) == 0 {
		return "no remote"
	}
	return strings.Join(rs, " ")
}

func profileList() *command {
	return &command{
		name: "ls", summary: "list VPN profiles",
		help: `Examples:
  microvm-api vpn profile ls
  microvm-api vpn profile ls --names`,
		setup: func(e *env, fs *flag.FlagSet) action {
			return listAction(e, fs, (*client.Client).ListProfiles,
				func(ps []api.VPNProfile) any { return api.VPNProfileList{Profiles: ps} },
				func(p api.VPNProfile) string { return p.Name },
				func(ps []api.VPNProfile) error {
					tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tREMOTES\tAUTH\tUPDATED")
					now := time.Now()
					for _, p := range ps {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s ago\n", p.Name, remotes(p.Summary), auth(p), age(now.Sub(p.UpdatedAt)))
					}
					return tw.Flush()
				})
		},
	}
}

// auth says how the profile authenticates and what is stored for it.
func auth(p api.VPNProfile) string {
	var parts []string
	if p.Summary.HasCert || p.Summary.HasPKCS12 {
		parts = append(parts, "certificate")
	}
	if p.Summary.AuthUserPass {
		switch {
		case p.HasUsername && p.HasPassword:
			parts = append(parts, "password (stored)")
		case p.HasUsername:
			parts = append(parts, "password (username only)")
		default:
			parts = append(parts, "password (missing)")
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "+")
}

func profileRemove() *command {
	return &command{
		name: "rm", args: "NAME", summary: "remove a VPN profile and its credentials", complete: argProfile,
		help: `Example:
  microvm-api vpn profile rm work`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one profile name")
				}
				c, err := e.client()
				if err != nil {
					return err
				}
				if err := c.DeleteProfile(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "profile %s removed\n", args[0])
				return nil
			}
		},
	}
}
