package vpn

import (
	"regexp"
	"strings"

	"github.com/velocitty/microvm/errdefs"
)

// MaxCredentialLength bounds a username or password, in bytes. Longer
// values do not fit one line of openvpn's management interface.
const MaxCredentialLength = 256

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// windowsReserved are device names Windows refuses as file names, with
// or without an extension.
var windowsReserved = map[string]bool{
	"con": true, "prn": true, "aux": true, "nul": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true,
	"com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true,
	"lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
}

// ValidName checks a profile name: 1 to 64 characters from letters,
// digits, '.', '_' and '-', starting with a letter or digit, without "..",
// and not a Windows device name. Names are used as file names.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return errdefs.Invalidf("name", "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if strings.Contains(name, "..") {
		return errdefs.Invalidf("name", `must not contain ".."`)
	}
	base, _, _ := strings.Cut(strings.ToLower(name), ".")
	if windowsReserved[base] {
		return errdefs.Invalidf("name", "%q is a reserved device name on Windows", name)
	}
	return nil
}

// validCredential checks a username or password: it is sent on one line
// of the management interface, so CR, LF and NUL are refused.
func validCredential(field, v string) error {
	if len(v) > MaxCredentialLength {
		return errdefs.Invalidf(field, "must be at most %d bytes", MaxCredentialLength)
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return errdefs.Invalidf(field, "must not contain CR, LF or NUL")
	}
	return nil
}
