package linuxvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/internal/atomicfile"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/sandbox"
)

// ensureRootfs unpacks the guest image into the VM's directory on its
// first start. Later starts reuse it, with whatever the guest changed.
func (b *Backend) ensureRootfs(ctx context.Context, s machine.Spec) error {
	dir := rootfsDir(s)
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	start := time.Now()
	if err := sandbox.Unpack(ctx, b.cfg.ImagePath, dir); err != nil {
		return fmt.Errorf("provision VM %s: %w", s.Name, err)
	}
	b.log.InfoContext(ctx, "guest_unpacked", "vm", s.Name, "image", b.cfg.ImagePath, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// deployAgent puts the shipped agent into the guest when the guest's
// agent reports another version (a reused guest keeps a stale agent
// otherwise). Builds without a version ("dev") are compared byte by byte.
// Versions are remembered by file size and modification time, so an
// ordinary start runs no agent binary at all.
func (b *Backend) deployAgent(ctx context.Context, s machine.Spec) error {
	guest := filepath.Join(rootfsDir(s), GuestAgentPath)
	shipped, err := b.versions.of(ctx, b.cfg.AgentPath)
	if err != nil {
		return fmt.Errorf("deploy agent: %w", err)
	}
	current, err := b.versions.of(ctx, guest)
	if err == nil && current == shipped && (shipped != "dev" || sameFile(b.cfg.AgentPath, guest)) {
		return nil
	}
	data, err := os.ReadFile(b.cfg.AgentPath)
	if err != nil {
		return fmt.Errorf("deploy agent: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(guest), 0o755); err != nil {
		return fmt.Errorf("deploy agent: %w", err)
	}
	if err := atomicfile.Write(guest, data, 0o755); err != nil {
		return fmt.Errorf("deploy agent: %w", err)
	}
	b.log.InfoContext(ctx, "agent_deployed", "vm", s.Name, "version", shipped, "previous", current)
	return nil
}

// versionCache remembers "AGENT version" by path, size and modification
// time.
type versionCache struct {
	mu sync.Mutex
	m  map[versionKey]string
}

type versionKey struct {
	path  string
	size  int64
	mtime time.Time
}

func (c *versionCache) of(ctx context.Context, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("agent %s: %w", path, err)
	}
	key := versionKey{path, st.Size(), st.ModTime()}
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err = agentVersion(ctx, path)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[versionKey]string{}
	}
	c.m[key] = v
	c.mu.Unlock()
	return v, nil
}

// agentVersion runs "AGENT version". The agent is a static binary, so the
// guest's copy runs on the host too.
func agentVersion(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "version").Output()
	if err != nil {
		return "", fmt.Errorf("%s version: %w", path, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func sameFile(a, b string) bool {
	da, err := os.ReadFile(a)
	if err != nil {
		return false
	}
	db, err := os.ReadFile(b)
	return err == nil && bytes.Equal(da, db)
}

// writeToken provisions the agent's token, readable by root only. An
// unchanged token is left alone (no write, no fsync).
func writeToken(s machine.Spec) error {
	path := filepath.Join(rootfsDir(s), GuestTokenPath)
	if st, err := os.Stat(path); err == nil && st.Mode().Perm() == 0o600 {
		if data, err := os.ReadFile(path); err == nil && string(data) == s.Token {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write agent token: %w", err)
	}
	if err := atomicfile.Write(path, []byte(s.Token), 0o600); err != nil {
		return fmt.Errorf("write agent token: %w", err)
	}
	return nil
}

// checkPorts fails with ErrPortInUse when another program listens on one
// of the VM's ports: the agent would fail to bind it, or worse, the
// daemon would talk to that program.
func checkPorts(s machine.Spec) error {
	for _, port := range []int{s.AgentPort, s.SocksPort} {
		ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return fmt.Errorf("VM %s: 127.0.0.1:%d is taken by another program: %w", s.Name, port, errdefs.ErrPortInUse)
			}
			return fmt.Errorf("VM %s: check port %d: %w", s.Name, port, err)
		}
		ln.Close()
	}
	return nil
}

// logTail returns the end of the agent's log, for error messages.
func logTail(s machine.Spec) string {
	f, err := os.Open(filepath.Join(s.Dir, agentLogName))
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 2048
	if st, err := f.Stat(); err == nil && st.Size() > max {
		f.Seek(st.Size()-max, io.SeekStart)
	}
	data, _ := io.ReadAll(f)
	return strings.TrimSpace(string(data))
}

// rotateLog keeps the agent's log from growing without bound: at start,
// a log over 1 MiB moves to agent.log.1.
func rotateLog(s machine.Spec) {
	path := filepath.Join(s.Dir, agentLogName)
	if st, err := os.Stat(path); err == nil && st.Size() > 1<<20 {
		os.Rename(path, path+".1")
	}
}
