package vpn

import (
	"regexp"
	"strings"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/internal/names"
)

// MaxCredentialLength bounds a username or password, in bytes. Longer
// values do not fit one line of openvpn's management interface.
const MaxCredentialLength = 256

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

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
	if names.WindowsReserved(name) {
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
