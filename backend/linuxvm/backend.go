package linuxvm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/sandbox"
)

// Guest paths the backend provisions.
const (
	GuestAgentPath = "/usr/local/bin/microvm-agent"
	GuestTokenPath = "/etc/microvm/token"
)

// Files the backend keeps in a VM's directory.
const (
	rootfsName   = "rootfs"    // the unpacked guest image
	boxFileName  = "box.json"  // the running box's Ref
	agentLogName = "agent.log" // the agent's stdout and stderr
)

// Config configures a Backend.
type Config struct {
	ImagePath string // guest image tarball (make guest-image)
	AgentPath string // agent binary deployed into each guest
	Logger    *slog.Logger
	// StartTimeout bounds the wait for the agent's first answer (default
	// 15s); StopGrace is how long Stop waits after asking the agent and
	// after SIGTERM before it escalates (default 3s).
	StartTimeout, StopGrace time.Duration
}

// Backend runs guests in namespace sandboxes. It implements
// machine.Backend. Calls for one VM are serialized; different VMs proceed
// in parallel.
type Backend struct {
	cfg      Config
	log      *slog.Logger
	versions versionCache

	mu    sync.Mutex
	locks map[string]*sync.Mutex // by VM directory
}

var _ machine.Backend = (*Backend)(nil)

// New returns a Linux sandbox backend.
func New(cfg Config) *Backend {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 15 * time.Second
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 3 * time.Second
	}
	return &Backend{cfg: cfg, log: cfg.Logger.With("backend", "linux"), locks: map[string]*sync.Mutex{}}
}

// Available reports whether guests can run here: root, a cgroup that can
// freeze, the guest image and the agent binary.
func (b *Backend) Available(ctx context.Context) error {
	if os.Geteuid() != 0 {
		if err := sandbox.CgroupAvailable(); errors.Is(err, errdefs.ErrUnsupported) {
			return fmt.Errorf("linux sandbox: %w", err)
		}
		return fmt.Errorf("linux sandbox: needs root to create namespaces and mounts; run the daemon as root: %w", errdefs.ErrUnavailable)
	}
	if err := sandbox.CgroupAvailable(); err != nil {
		return fmt.Errorf("linux sandbox: %w", err)
	}
	if _, err := os.Stat("/proc/self/ns/pid"); err != nil {
		return fmt.Errorf("linux sandbox: kernel without PID namespaces: %w", errdefs.ErrUnavailable)
	}
	if b.cfg.ImagePath == "" {
		return fmt.Errorf("linux sandbox: no guest image configured; build it with `make guest-image`: %w", errdefs.ErrUnavailable)
	}
	if _, err := os.Stat(b.cfg.ImagePath); err != nil {
		return fmt.Errorf("linux sandbox: guest image %s missing; build it with `make guest-image`: %w", b.cfg.ImagePath, errdefs.ErrUnavailable)
	}
	if _, err := os.Stat(b.cfg.AgentPath); err != nil {
		return fmt.Errorf("linux sandbox: agent binary %q missing; build it with `make build`: %w", b.cfg.AgentPath, errdefs.ErrUnavailable)
	}
	return nil
}

// lock serializes calls for one VM.
func (b *Backend) lock(s machine.Spec) func() {
	b.mu.Lock()
	l, ok := b.locks[s.Dir]
	if !ok {
		l = &sync.Mutex{}
		b.locks[s.Dir] = l
	}
	b.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// boxID names the VM's box uniquely on this host: two daemons with
// different data directories may both have a VM called "default".
func boxID(s machine.Spec) string {
	sum := sha256.Sum256([]byte(filepath.Clean(s.Dir)))
	return "vm-" + s.Name + "-" + hex.EncodeToString(sum[:4])
}

func validSpec(s machine.Spec) error {
	if s.Name == "" || !filepath.IsAbs(s.Dir) {
		return fmt.Errorf("VM %q: needs a name and an absolute directory (got %q): %w", s.Name, s.Dir, errdefs.ErrInvalid)
	}
	return nil
}

func rootfsDir(s machine.Spec) string { return filepath.Join(s.Dir, rootfsName) }

// isGone reports errors that mean the box is not running.
func isGone(err error) bool { return errors.Is(err, errdefs.ErrNotFound) }
