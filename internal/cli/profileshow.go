package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/velocitty/microvm/api"
)

func profileShow() *command {
	return &command{
		name: "show", args: "NAME", summary: "show what a VPN profile does, without secrets", complete: argProfile,
		help: `Example:
  microvm-api vpn profile show work`,
		setup: func(e *env, fs *flag.FlagSet) action {
			e.daemonFlags(fs)
			e.jsonFlag(fs)
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usagef("want exactly one profile name")
				}
				c, err := e.client()
				if err != nil {
					return err
				}
				p, err := c.GetProfile(ctx, args[0])
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSON(p)
				}
				return printProfile(e.stdout, p)
			}
		},
	}
}

func printProfile(w io.Writer, p api.VPNProfile) error {
	s := p.Summary
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	row("Name", p.Name)
	row("Remotes", remotes(s))
	row("Device", s.Dev)
	row("Authentication", auth(p))
	row("Username stored", yes(p.HasUsername))
	row("Password stored", yes(p.HasPassword))
	for _, ca := range s.CA {
		row("CA", fmt.Sprintf("%s (until %s)", ca.Subject, ca.NotAfter.Format(time.DateOnly)))
	}
	if s.Cert.Subject != "" {
		row("Certificate", fmt.Sprintf("%s, issued by %s (until %s)", s.Cert.Subject, s.Cert.Issuer, s.Cert.NotAfter.Format(time.DateOnly)))
	}
	row("Data ciphers", strings.Join(s.DataCiphers, ", "))
	row("Cipher", s.Cipher)
	row("Auth digest", s.Auth)
	row("TLS auth", yes(s.HasTLSAuth))
	row("TLS crypt", yes(s.HasTLSCrypt))
	row("Created", p.CreatedAt.Local().Format(time.DateTime))
	row("Updated", p.UpdatedAt.Local().Format(time.DateTime))
	return tw.Flush()
}

// password returns the profile password to send: from the first line of
// stdin, asked on the terminal when a username is given, or none.
func (e *env) password(fromStdin bool, username string) (*string, error) {
	if fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read password: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return nil, errors.New("read password: standard input is empty")
		}
		return &pw, nil
	}
	fd, ok := fdOf(e.stdin)
	if username == "" || !ok || !term.IsTerminal(fd) {
		return nil, nil
	}
	fmt.Fprintf(e.stderr, "Password for %s: ", username)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	pw := string(b)
	return &pw, nil
}
