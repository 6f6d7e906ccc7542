package wsl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/machine"
)

// Guest paths the backend provisions.
const (
	GuestAgentPath = "/usr/local/bin/microvm-agent"
	GuestTokenPath = "/etc/microvm/token"
	guestAgentHash = "/etc/microvm/agent.sha256"
	guestWSLConf   = "/etc/wsl.conf"
)

// DistroPrefix starts the name of every distribution this backend owns.
const DistroPrefix = "microvm-"

// Files the backend keeps in a VM's directory.
const (
	diskDirName  = "wsl"       // the distribution's disk (ext4.vhdx)
	agentLogName = "agent.log" // output of the keep-alive wsl.exe
)

// BackendConfig configures a Backend.
type BackendConfig struct {
	Exe       string // wsl.exe; "" means $MICROVM_WSL_EXE, else wsl.exe on PATH
	ImagePath string // guest rootfs tarball to import
	AgentPath string // Linux agent binary deployed into the guest
	Logger    *slog.Logger
	// Timeout bounds each wsl.exe call (default 30s); ImportTimeout
	// bounds an import (default 10m) and StartTimeout the wait for the
	// agent after starting (default 90s, a cold WSL VM boot included).
	Timeout, ImportTimeout, StartTimeout time.Duration
}

// Backend runs guests as WSL2 distributions. It implements
// machine.Backend.
type Backend struct {
	cfg BackendConfig
	run *Runner
	log *slog.Logger

	mu    sync.Mutex
	alive map[string]*keepAlive // by distribution name, started by this process
}

var _ machine.Backend = (*Backend)(nil)

// NewBackend returns a WSL2 backend.
func NewBackend(cfg BackendConfig) *Backend {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 90 * time.Second
	}
	log := cfg.Logger.With("backend", "wsl")
	run := NewRunner(cfg.Exe, cfg.Timeout, log).WithImportTimeout(cfg.ImportTimeout)
	return &Backend{cfg: cfg, run: run, log: log, alive: map[string]*keepAlive{}}
}

// Runner is the wsl.exe runner the backend uses.
func (b *Backend) Runner() *Runner { return b.run }

// DistroName is the distribution that holds the VM vm.
func DistroName(vm string) string { return DistroPrefix + vm }

func distroFor(s machine.Spec) (string, error) {
	name := DistroName(s.Name)
	if err := ValidName(name); err != nil {
		return "", fmt.Errorf("vm %s: %w", s.Name, err)
	}
	return name, nil
}

// Available implements machine.Backend.
func (b *Backend) Available(ctx context.Context) error {
	info, err := b.run.Check(ctx)
	if err != nil {
		return err
	}
	b.log.DebugContext(ctx, "wsl_available", "wsl_version", info.Version, "kernel", info.Kernel)
	if b.cfg.ImagePath == "" || b.cfg.AgentPath == "" {
		return fmt.Errorf("wsl backend: %w: no guest image or agent configured", errdefs.ErrUnavailable)
	}
	for _, p := range []string{b.cfg.ImagePath, b.cfg.AgentPath} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("wsl backend: %w: %v (build it with \"make guest-image\")", errdefs.ErrUnavailable, err)
		}
	}
	return nil
}

// Start implements machine.Backend: import on first start, provision,
// then run the agent under one long-lived wsl.exe and wait for its ping.
func (b *Backend) Start(ctx context.Context, s machine.Spec) error {
	name, err := distroFor(s)
	if err != nil {
		return err
	}
	log := b.log.With("vm", s.Name, "distro", name)
	d, err := b.run.Find(ctx, name)
	switch {
	case errors.Is(err, errdefs.ErrNotFound):
		if err := b.importDistro(ctx, s, name); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("start %s: %w", s.Name, err)
	}
	hash, err := fileHash(b.cfg.AgentPath)
	if err != nil {
		return fmt.Errorf("start %s: %w", s.Name, err)
	}
	agent := agentAt(s.AgentPort, s.Token)
	if d.State == StateRunning {
		if agent.Ping(ctx) == nil {
			if deployed, _ := b.readGuest(ctx, name, guestAgentHash); deployed == hash {
				log.InfoContext(ctx, "wsl_start_already_running")
				return nil
			}
			log.InfoContext(ctx, "wsl_agent_outdated_restarting")
		} else {
			// Running without an agent that accepts our token: a crashed
			// agent or one started with an old token, still holding its
			// ports. Start from a clean distribution.
			log.InfoContext(ctx, "wsl_stale_instance_restarting")
		}
		if err := b.run.Terminate(ctx, name); err != nil {
			return fmt.Errorf("start %s: %w", s.Name, err)
		}
		b.joinKeepAlive(ctx, name)
	}
	if err := b.provision(ctx, name, s, hash); err != nil {
		return fmt.Errorf("start %s: %w", s.Name, err)
	}
	ka, err := b.startKeepAlive(ctx, name, s)
	if err != nil {
		return fmt.Errorf("start %s: %w", s.Name, err)
	}
	wctx, cancel := context.WithTimeout(ctx, b.cfg.StartTimeout)
	defer cancel()
	if err := waitPing(wctx, agent, ka.done); err != nil {
		return fmt.Errorf("start %s: %w (agent output in %s)", s.Name, err, filepath.Join(s.Dir, agentLogName))
	}
	log.InfoContext(ctx, "wsl_started")
	return nil
}

// importDistro imports the image into a fresh directory; on failure it
// leaves neither a registration nor a directory behind.
func (b *Backend) importDistro(ctx context.Context, s machine.Spec, name string) error {
	dir := filepath.Join(s.Dir, diskDirName)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	b.log.InfoContext(ctx, "wsl_import", "vm", s.Name, "distro", name, "image", b.cfg.ImagePath)
	if err := b.run.Import(ctx, name, dir, b.cfg.ImagePath); err != nil {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer ccancel()
		if uerr := b.run.Unregister(cctx, name); uerr != nil {
			b.log.WarnContext(ctx, "wsl_import_cleanup", "distro", name, "err", uerr)
		}
		os.RemoveAll(dir)
		return fmt.Errorf("start %s: %w", s.Name, err)
	}
	return nil
}

// provision brings the guest's files up to date: /etc/wsl.conf when the
// image has none, the agent (redeployed whenever its hash differs from
// the shipped binary, so an old guest never keeps running an old agent)
// and the token.
func (b *Backend) provision(ctx context.Context, name string, s machine.Spec, hash string) error {
	restart := false
	if _, err := b.readGuest(ctx, name, guestWSLConf); err != nil {
		// The guest image ships its own; this is for images that lack one.
		if err := b.writeGuest(ctx, name, guestWSLConf, 0o644, strings.NewReader(wslConf)); err != nil {
			return err
		}
		restart = true // wsl.conf is read when the distribution boots
	}
	if deployed, _ := b.readGuest(ctx, name, guestAgentHash); deployed != hash {
		f, err := os.Open(b.cfg.AgentPath)
		if err != nil {
			return fmt.Errorf("provision: %w", err)
		}
		err = b.writeGuest(ctx, name, GuestAgentPath, 0o755, f)
		f.Close()
		if err != nil {
			return err
		}
		if err := b.writeGuest(ctx, name, guestAgentHash, 0o644, strings.NewReader(hash+"\n")); err != nil {
			return err
		}
		b.log.InfoContext(ctx, "wsl_agent_deployed", "distro", name, "sha256", hash)
	}
	if err := b.writeGuest(ctx, name, GuestTokenPath, 0o600, strings.NewReader(s.Token)); err != nil {
		return err
	}
	if restart {
		return b.run.Terminate(ctx, name)
	}
	return nil
}

// wslConf keeps the guest small and isolated: no Windows drives, no
// Windows programs on PATH, no systemd (the agent supervises), root.
const wslConf = `[boot]
systemd=false

[automount]
enabled=false
mountFsTab=false

[interop]
enabled=false
appendWindowsPath=false

[user]
default=root
`

// writeGuest writes r to path in the guest with mode, through stdin.
func (b *Backend) writeGuest(ctx context.Context, name, path string, mode os.FileMode, r io.Reader) error {
	_, _, err := b.run.Exec(ctx, name, "root", r, "/bin/sh", "-c", scriptWriteFile, "sh", path, fmt.Sprintf("%o", mode))
	if err != nil {
		return fmt.Errorf("write %s in %s: %w", path, name, err)
	}
	return nil
}

// readGuest returns the trimmed contents of a guest file.
func (b *Backend) readGuest(ctx context.Context, name, path string) (string, error) {
	out, _, err := b.run.Exec(ctx, name, "root", nil, "/bin/cat", path)
	if err != nil {
		return "", fmt.Errorf("read %s in %s: %w", path, name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash agent: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash agent %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
