package daemon

import (
	"log/slog"
	"os"

	"github.com/velocitty/microvm/backend/linuxvm"
	"github.com/velocitty/microvm/machine"
)

// hostBackends wires the Linux sandbox as the default backend. WSL2 exists
// only on Windows; it is offered here only when MICROVM_WSL_EXE names a
// wsl.exe stand-in (the emulator the tests use).
func hostBackends(log *slog.Logger) Host {
	image, agent := guestFiles()
	h := Host{
		Default:     "linux",
		Backends:    map[string]machine.Backend{"linux": linuxvm.New(linuxvm.Config{ImagePath: image, AgentPath: agent, Logger: log})},
		Unavailable: map[string]string{},
		Agents:      agents,
	}
	if os.Getenv("MICROVM_WSL_EXE") != "" {
		h.Backends["wsl"] = newWSL(log, image, agent)
	} else {
		h.Unavailable["wsl"] = "WSL2 runs only on Windows"
	}
	return h
}
