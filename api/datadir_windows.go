package api

import (
	"errors"
	"os"
	"path/filepath"
)

// DefaultDataDir is the daemon's data directory when none is given:
// %LOCALAPPDATA%\microvm-rs.
func DefaultDataDir() (string, error) {
	base := os.Getenv("LOCALAPPDATA")
	if base == "" {
		return "", errors.New("default data dir: LOCALAPPDATA is not set")
	}
	return filepath.Join(base, "microvm-rs"), nil
}
