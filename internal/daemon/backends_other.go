//go:build !linux && !windows

package daemon

import (
	"log/slog"

	"github.com/velocitty/microvm/machine"
)

// hostBackends reports that no backend runs on this OS.
func hostBackends(*slog.Logger) Host {
	return Host{
		Default:  "linux",
		Backends: map[string]machine.Backend{},
		Unavailable: map[string]string{
			"linux": "the Linux sandbox backend runs only on a Linux host",
			"wsl":   "WSL2 runs only on Windows",
		},
		Agents: agents,
	}
}
