package daemon

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/velocitty/microvm/guest/agentclient"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/wsl"
)

// Host is what this machine offers for running guests.
type Host struct {
	Backends    map[string]machine.Backend // by name: "linux", "wsl"
	Unavailable map[string]string          // backends that cannot run here, and why
	Default     string                     // the backend "auto" picks
	Agents      machine.AgentDialer
}

// Environment variables that override where the guest's files are found.
const (
	EnvImage = "MICROVM_IMAGE" // guest rootfs tarball; default: beside the daemon binary
	EnvAgent = "MICROVM_AGENT" // Linux agent binary; default: beside the daemon binary
)

// Default file names, beside the daemon's executable.
const (
	ImageFile = "microvm-guest.tar.gz"
	AgentFile = "microvm-agent"
)

// guestFiles returns the guest image and agent the backends deploy.
func guestFiles() (image, agent string) {
	dir := "."
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			dir = filepath.Dir(exe)
		}
	}
	image, agent = os.Getenv(EnvImage), os.Getenv(EnvAgent)
	if image == "" {
		image = filepath.Join(dir, ImageFile)
	}
	if agent == "" {
		agent = filepath.Join(dir, AgentFile)
	}
	return image, agent
}

// newWSL returns the WSL2 backend, driving wsl.exe (or the program named by
// MICROVM_WSL_EXE).
func newWSL(log *slog.Logger, image, agent string) machine.Backend {
	return wsl.NewBackend(wsl.BackendConfig{ImagePath: image, AgentPath: agent, Logger: log})
}

// agents dials guest agents with the agent client, keeping one client (and
// so one pool of idle connections) per agent instead of one per call.
var agents = newAgentPool().dial

type agentPool struct {
	mu      sync.Mutex
	clients map[[2]string]*agentclient.Client
}

func newAgentPool() *agentPool {
	return &agentPool{clients: make(map[[2]string]*agentclient.Client)}
}

func (p *agentPool) dial(addr, token string) machine.Agent {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := [2]string{addr, token}
	c, ok := p.clients[key]
	if !ok {
		// A VM's token or port changed: the old client is of no more use.
		for k, old := range p.clients {
			if k[0] == addr {
				old.Close()
				delete(p.clients, k)
			}
		}
		c = agentclient.New(addr, token)
		p.clients[key] = c
	}
	return c
}
