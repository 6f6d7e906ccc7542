//go:build !windows

package daemon

import (
	"fmt"
	"os"
	"syscall"
)

// checkPrivate refuses a data dir that another local user could write to
// or that belongs to someone else: whoever can replace api.json there can
// point clients at their own server and collect the bearer token.
func checkPrivate(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("data dir %s is writable by other users (mode %04o): run chmod 700 %s", dir, perm, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("data dir %s belongs to user %d, not to this daemon's user %d", dir, st.Uid, os.Geteuid())
	}
	return nil
}
