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
	if os.Geteuid() == 0 {
		return "/var/lib/microvm", nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "microvm"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("default data dir: %w", err)
	}
	return filepath.Join(home, ".local", "state", "microvm"), nil
}
