//go:build linux

package wslemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/velocitty/microvm/internal/atomicfile"
)

// Environment variables that configure the emulator.
const (
	EnvState = "MICROVM_WSLEMU_STATE"
	EnvIdle  = "MICROVM_WSLEMU_IDLE_MS"
	EnvFault = "MICROVM_WSLEMU_FAULT"
)

// distro is one registration, as the registry keeps it.
type distro struct {
	Name     string `json:"name"`
	BasePath string `json:"basePath"` // the import directory
	Version  int    `json:"version"`
}

func (d distro) rootfs() string { return filepath.Join(d.BasePath, "rootfs") }

// registry is the persistent state: registrations in enumeration order
// and the default distribution.
type registry struct {
	Default string   `json:"default"`
	Distros []distro `json:"distros"`
}

// store is the state directory: registry.json, a lock serializing
// invocations, and run/ with a file, a session socket and a log per
// running instance.
type store struct {
	dir  string
	lock *os.File
}

func stateDir() string {
	if d := os.Getenv(EnvState); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "wslemu-"+strconv.Itoa(os.Getuid()))
}

func openStore() (*store, error) {
	dir := stateDir()
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state lock: %w", err)
	}
	return &store{dir: dir, lock: f}, nil
}

// locked runs fn holding the state lock, so concurrent invocations see
// each other's changes whole.
func (s *store) locked(fn func() error) error {
	if err := syscall.Flock(int(s.lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock state: %w", err)
	}
	defer syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
	return fn()
}

func (s *store) load() (*registry, error) {
	var r registry
	b, err := os.ReadFile(filepath.Join(s.dir, "registry.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &r, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, json.Unmarshal(b, &r)
}

func (s *store) save(r *registry) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(s.dir, "registry.json"), b, 0o600)
}

// find looks a name up case-insensitively, as the service does.
func (r *registry) find(name string) (int, bool) {
	for i, d := range r.Distros {
		if strings.EqualFold(d.Name, name) {
			return i, true
		}
	}
	return -1, false
}

// ordered lists the default distribution first, then the others in
// registration order.
func (r *registry) ordered() []distro {
	var out []distro
	for _, d := range r.Distros {
		if strings.EqualFold(d.Name, r.Default) {
			out = append([]distro{d}, out...)
		} else {
			out = append(out, d)
		}
	}
	return out
}

func (s *store) runFile(name string) string {
	return filepath.Join(s.dir, "run", strings.ToLower(name)+".json")
}

func (s *store) sockFile(name string) string {
	return filepath.Join(s.dir, "run", strings.ToLower(name)+".sock")
}

// lock takes the state lock until unlock is called.
func (s *store) lockNow() (unlock func(), err error) {
	if err := syscall.Flock(int(s.lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("lock state: %w", err)
	}
	return func() { syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN) }, nil
}
