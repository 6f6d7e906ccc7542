package vpn

import (
	"slices"
	"strings"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
)

// maxConfig bounds a rendered profile; real ones are a few kilobytes.
const maxConfig = 1 << 20

func validate(req agentapi.VPNConnect) error {
	switch {
	case req.Profile == "":
		return errdefs.Invalidf("profile", "empty")
	case req.Config == "":
		return errdefs.Invalidf("config", "empty")
	case len(req.Config) > maxConfig:
		return errdefs.Invalidf("config", "larger than %d bytes", maxConfig)
	}
	if err := checkCredential(req.Username); err != nil {
		return errdefs.Invalidf("username", "%v", err)
	}
	if err := checkCredential(req.Password); err != nil {
		return errdefs.Invalidf("password", "%v", err)
	}
	if req.Password != "" && req.Username == "" {
		return errdefs.Invalidf("username", "empty while a password is given")
	}
	return nil
}

// mentions reports whether the profile sets one of the options.
func mentions(config string, opts ...string) bool {
	for _, line := range strings.Split(config, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && slices.Contains(opts, strings.TrimPrefix(f[0], "--")) {
			return true
		}
	}
	return false
}
