package daemon

import (
	"log/slog"

	"github.com/velocitty/microvm/machine"
)

// hostBackends wires WSL2 as the only backend on Windows.
func hostBackends(log *slog.Logger) Host {
	image, agent := guestFiles()
	return Host{
		Default:     "wsl",
		Backends:    map[string]machine.Backend{"wsl": newWSL(log, image, agent)},
		Unavailable: map[string]string{"linux": "the Linux sandbox backend runs only on a Linux host; use wsl"},
		Agents:      agents,
	}
}
