//go:build !windows

package api

import (
	"errors"
	"testing"
)

func TestDataDir(t *testing.T) {
	home := func() (string, error) { return "/home/ann", nil }
	noHome := func() (string, error) { return "", errors.New("no home") }
	for _, tt := range []struct {
		euid int
		xdg  string
		home func() (string, error)
		want string
	}{
		{0, "/x", home, "/var/lib/microvm"},
		{1000, "/home/ann/.state", home, "/home/ann/.state/microvm"},
		{1000, "relative", home, "/home/ann/.local/state/microvm"},
		{1000, "", home, "/home/ann/.local/state/microvm"},
		{1000, "", noHome, ""},
	} {
		got, err := dataDir(tt.euid, tt.xdg, tt.home)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("dataDir(%d, %q) = %q, %v; want %q", tt.euid, tt.xdg, got, err, tt.want)
		}
	}
}
