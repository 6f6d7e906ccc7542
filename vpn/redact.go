package vpn

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
)

// LogValue logs a profile by name, remotes and credential flags only.
func (p Profile) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", p.Name),
		slog.Any("remotes", remoteStrings(p.Summary.Remotes)),
		slog.Bool("has_username", p.HasUsername),
		slog.Bool("has_password", p.HasPassword),
		slog.Time("updated_at", p.UpdatedAt),
	)
}

// LogValue logs a config by its safe facts; never the key material.
func (c *Config) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("<nil>")
	}
	s := c.summary
	return slog.GroupValue(
		slog.Any("remotes", remoteStrings(s.Remotes)),
		slog.String("dev", s.Dev),
		slog.Bool("has_cert", s.HasCert),
		slog.Bool("has_key", s.HasKey),
		slog.Bool("auth_user_pass", s.AuthUserPass),
		slog.Int("options", len(c.opts)),
	)
}

// String keeps fmt's %v from printing the inline blocks.
func (c *Config) String() string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("vpn.Config{remotes: %v, options: %d}", remoteStrings(c.summary.Remotes), len(c.opts))
}

// GoString does the same for %#v.
func (c *Config) GoString() string { return c.String() }

// LogValue logs what is being stored without the config or credentials.
func (in PutInput) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("config_bytes", len(in.Config)),
		slog.Bool("sets_username", in.Username != nil),
		slog.Bool("sets_password", in.Password != nil),
	)
}

// String keeps fmt from printing the credentials.
func (in PutInput) String() string {
	return fmt.Sprintf("vpn.PutInput{config: %d bytes, sets username: %t, sets password: %t}",
		len(in.Config), in.Username != nil, in.Password != nil)
}

// GoString does the same for %#v.
func (in PutInput) GoString() string { return in.String() }

func remoteStrings(rs []Remote) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) + "/" + r.Proto
	}
	return out
}
