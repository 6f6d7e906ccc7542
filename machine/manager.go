package machine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
)

// Config configures a Manager.
type Config struct {
	DataDir  string             // records live in DataDir/vms/<name>/
	Logger   *slog.Logger       // required
	Backends map[string]Backend // by name: "linux", "wsl"
	// Unavailable names backends that cannot exist on this host, with the
	// reason, so /v1/info can list them honestly.
	Unavailable map[string]string
	// DefaultBackend is used for "auto" ("linux" on Linux, "wsl" on Windows).
	DefaultBackend string
	// Agents dials a VM's agent. Required.
	Agents AgentDialer
	// Profiles holds VPN profiles; nil disables VPN connections.
	Profiles Profiles
	// HealthInterval is how often running agents are pinged; 0 means 5s.
	HealthInterval time.Duration
}

// Agent is what the manager needs of a guest agent.
type Agent interface {
	Ping(ctx context.Context) error
	Exec(ctx context.Context, req agentapi.ExecRequest) (agentapi.ExecResult, error)
	Logs(ctx context.Context, limit int) ([]agentapi.LogEntry, error)
	VPNStatus(ctx context.Context) (agentapi.VPNStatus, error)
	VPNConnect(ctx context.Context, req agentapi.VPNConnect) (agentapi.VPNStatus, error)
	VPNDisconnect(ctx context.Context) (agentapi.VPNStatus, error)
}

// AgentDialer returns a client for the agent at addr using token.
type AgentDialer func(addr, token string) Agent

// CreateOptions are the inputs of Create.
type CreateOptions struct {
	Name    string
	Backend string // "auto", "linux" or "wsl"; empty means "auto"
}

// Manager owns the VM records and drives backends. It is safe for
// concurrent use. A VM in a transitional state (starting, stopping) or
// with an operation under way refuses other operations with a conflict.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	store  *store
	events *Events

	mu  sync.Mutex
	vms map[string]*entry
	vpn map[string]vpnSeen // last reported tunnel state per running VM
	// vpnKick makes watchVPN look for new tunnels to follow at once.
	vpnKick   chan struct{}
	vpnRounds atomic.Int64 // watchVPN's rounds so far, for tests
}

type entry struct {
	vm   VM
	busy bool // an operation holds this VM
}

// New loads the records in cfg.DataDir, creates the VM named "default" if
// it does not exist, and re-attaches to guests that were running when the
// previous daemon stopped, reporting their true state.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	if cfg.Logger == nil || cfg.Agents == nil {
		return nil, errors.New("machine: Config.Logger and Config.Agents are required")
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 5 * time.Second
	}
	st, err := newStore(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "machine"),
		store:   st,
		events:  NewEvents(512),
		vms:     make(map[string]*entry),
		vpn:     make(map[string]vpnSeen),
		vpnKick: make(chan struct{}, 1),
	}
	vms, errs := st.load()
	for _, err := range errs {
		m.log.WarnContext(ctx, "skipping unreadable VM record", "err", err)
	}
	for _, vm := range vms {
		m.vms[vm.Name] = &entry{vm: vm}
	}
	for _, vm := range vms {
		m.reattach(ctx, vm)
	}
	if _, ok := m.vms[DefaultVMName]; !ok {
		if _, err := m.Create(ctx, CreateOptions{Name: DefaultVMName}); err != nil {
			return nil, fmt.Errorf("create default VM: %w", err)
		}
	}
	return m, nil
}

// Events returns the manager's event log.
func (m *Manager) Events() *Events { return m.events }

// List returns every VM, sorted by name.
func (m *Manager) List(ctx context.Context) []VM {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]VM, 0, len(m.vms))
	for _, e := range m.vms {
		out = append(out, e.vm)
	}
	slices.SortFunc(out, func(a, b VM) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Get returns one VM.
func (m *Manager) Get(ctx context.Context, name string) (VM, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.vms[name]
	if !ok {
		return VM{}, notFound(name)
	}
	return e.vm, nil
}

// Create records a new VM in state created. It does not start it.
func (m *Manager) Create(ctx context.Context, o CreateOptions) (VM, error) {
	if err := ValidName(o.Name); err != nil {
		return VM{}, err
	}
	backend, err := m.resolveBackend(o.Backend)
	if err != nil {
		return VM{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.vms[o.Name]; ok {
		return VM{}, fmt.Errorf("create VM %s: %w", o.Name, errdefs.ErrAlreadyExists)
	}
	taken := make(map[int]bool)
	for _, e := range m.vms {
		taken[e.vm.AgentPort], taken[e.vm.SocksPort] = true, true
	}
	agent, socks, err := allocatePorts(o.Name, taken)
	if err != nil {
		return VM{}, fmt.Errorf("create VM %s: %w", o.Name, err)
	}
	now := time.Now().UTC()
	vm := VM{Name: o.Name, Backend: backend, State: StateCreated, AgentPort: agent, SocksPort: socks, CreatedAt: now, UpdatedAt: now}
	if err := m.store.save(vm); err != nil {
		return VM{}, err
	}
	if _, err := m.store.token(vm.Name); err != nil {
		return VM{}, err
	}
	m.vms[vm.Name] = &entry{vm: vm}
	m.log.InfoContext(ctx, "vm created", "vm", vm.Name, "backend", backend)
	m.events.Publish(Event{Type: EventVMCreated, VM: vm.Name, State: string(vm.State)})
	return vm, nil
}

func (m *Manager) resolveBackend(name string) (string, error) {
	switch name {
	case "", "auto":
		if m.cfg.DefaultBackend == "" {
			return "", fmt.Errorf("no default backend on this host: %w", errdefs.ErrUnavailable)
		}
		return m.cfg.DefaultBackend, nil
	}
	if _, ok := m.cfg.Backends[name]; ok {
		return name, nil
	}
	if _, ok := m.cfg.Unavailable[name]; ok {
		return name, nil
	}
	return "", errdefs.Invalidf("backend", "unknown backend %q: use auto, linux or wsl", name)
}

// Backends reports every backend known to this daemon and whether it can
// run guests here.
func (m *Manager) Backends(ctx context.Context) []BackendInfo {
	var out []BackendInfo
	for name, b := range m.cfg.Backends {
		info := BackendInfo{Name: name, Available: true, Default: name == m.cfg.DefaultBackend}
		if err := b.Available(ctx); err != nil {
			info.Available, info.Reason = false, err.Error()
		}
		out = append(out, info)
	}
	for name, reason := range m.cfg.Unavailable {
		if _, ok := m.cfg.Backends[name]; ok {
			continue
		}
		out = append(out, BackendInfo{Name: name, Reason: reason, Default: name == m.cfg.DefaultBackend})
	}
	slices.SortFunc(out, func(a, b BackendInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func notFound(name string) error {
	return fmt.Errorf("VM %q: %w", name, errdefs.ErrNotFound)
}
