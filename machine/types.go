// Package machine keeps the daemon's VMs: their records on disk, the
// lifecycle state machine, per-VM ports, supervision of running guests, and
// the events emitted on every change. Backends (the Linux sandbox, WSL2)
// plug in through the Backend interface.
package machine

import (
	"strconv"
	"time"
)

// State is a VM's lifecycle state as the API reports it.
type State string

// The lifecycle states.
const (
	StateCreated  State = "created"
	StateStarting State = "starting"
	StateRunning  State = "running"
	StatePaused   State = "paused"
	StateStopping State = "stopping"
	StateStopped  State = "stopped"
	StateError    State = "error"
)

// VM is the record of one VM, as persisted and as returned to callers.
type VM struct {
	Name      string    `json:"name"`
	Backend   string    `json:"backend"` // "linux" or "wsl"
	State     State     `json:"state"`
	Reason    string    `json:"reason,omitempty"` // why it is in error or stopped unexpectedly
	AgentPort int       `json:"agentPort"`
	SocksPort int       `json:"socksPort"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	// VPNProfile is the VPN profile selected for this VM, reconnected
	// whenever it starts; empty when its proxy goes direct.
	VPNProfile string `json:"vpnProfile,omitempty"`
}

// SocksAddress is where the VM's SOCKS5 proxy listens.
func (v VM) SocksAddress() string { return loopbackAddr(v.SocksPort) }

// AgentAddress is where the VM's agent control API listens.
func (v VM) AgentAddress() string { return loopbackAddr(v.AgentPort) }

// EventType names what an Event reports.
type EventType string

// Event types.
const (
	EventVMCreated EventType = "vm.created"
	EventVMState   EventType = "vm.state"
	EventVMDeleted EventType = "vm.deleted"
	EventVPNState  EventType = "vpn.state"
)

// Event is one change, numbered in order for replay (Last-Event-ID).
type Event struct {
	ID     uint64    `json:"id"`
	Time   time.Time `json:"time"`
	Type   EventType `json:"type"`
	VM     string    `json:"vm"`
	State  string    `json:"state,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// BackendInfo tells whether a backend can be used here and, if not, why.
type BackendInfo struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
	Default   bool   `json:"default"`
}

// Default ports of the VM named "default" (ARCHITECTURE §1).
const (
	DefaultVMName    = "default"
	DefaultAgentPort = 1025
	DefaultSocksPort = 1080
)

func loopbackAddr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
