package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/machine"
)

// Host is what this machine offers for running guests.
type Host struct {
	Backends    map[string]machine.Backend // by name: "linux", "wsl"
	Unavailable map[string]string          // backends that cannot run here, and why
	Default     string                     // the backend "auto" picks
	Agents      machine.AgentDialer
}

// hostBackends wires the backends of this host. None is built in yet:
// every backend is reported unavailable with its reason, and "auto" names
// the one this OS would use.
func hostBackends(*slog.Logger) Host {
	def := "linux"
	if runtime.GOOS == "windows" {
		def = "wsl"
	}
	return Host{
		Default:  def,
		Backends: map[string]machine.Backend{},
		Unavailable: map[string]string{
			"linux": "the Linux sandbox backend is not built into this daemon yet",
			"wsl":   "the WSL2 backend is not built into this daemon yet",
		},
		Agents: func(addr, _ string) machine.Agent { return noAgent(addr) },
	}
}

// noAgent answers every call with ErrUnavailable.
type noAgent string

func (a noAgent) err() error {
	return fmt.Errorf("agent %s: no agent client in this build: %w", string(a), errdefs.ErrUnavailable)
}

func (a noAgent) Ping(context.Context) error { return a.err() }

func (a noAgent) Exec(context.Context, agentapi.ExecRequest) (agentapi.ExecResult, error) {
	return agentapi.ExecResult{}, a.err()
}

func (a noAgent) Logs(context.Context, int) ([]agentapi.LogEntry, error) { return nil, a.err() }
