//go:build !windows

package api

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultDataDir is the daemon's data directory when none is given:
// /var/lib/microvm for root, else $XDG_STATE_HOME/microvm, else
// ~/.local/state/microvm.
func DefaultDataDir() (string, error) {
	return dataDir(os.Geteuid(), os.Getenv("XDG_STATE_HOME"), os.UserHomeDir)
}

func dataDir(euid int, xdgState string, home func() (string, error)) (string, error) {
	if euid == 0 {
		return "/var/lib/microvm", nil
	}
	if filepath.IsAbs(xdgState) { // the spec says to ignore relative paths
		return filepath.Join(xdgState, "microvm"), nil
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("default data dir: %w", err)
	}
	return filepath.Join(h, ".local", "state", "microvm"), nil
}
