package machine

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/internal/atomicfile"
	"github.com/velocitty/microvm/internal/names"
)

// MaxNameLen is the longest VM name accepted.
const MaxNameLen = 32

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// ValidName reports whether name can name a VM: 1 to 32 lowercase letters,
// digits and hyphens, starting with a letter or digit. The rule keeps
// names safe as directory names, WSL distro names and hostnames.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return errdefs.Invalidf("name", "%q is not a valid VM name: use 1 to %d lowercase letters, digits and hyphens, starting with a letter or digit", name, MaxNameLen)
	}
	// The WSL backend names a directory (and a distro) after the VM.
	if names.WindowsReserved(name) {
		return errdefs.Invalidf("name", "%q is a reserved device name on Windows", name)
	}
	return nil
}

// store keeps one directory per VM under root: vm.json (the record) and
// token (the agent's bearer token, 0600). Backends own the rest.
type store struct {
	root string
}

const (
	recordFile = "vm.json"
	tokenFile  = "token"
)

func newStore(dataDir string) (*store, error) {
	root := filepath.Join(dataDir, "vms")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create VM store: %w", err)
	}
	return &store{root: root}, nil
}

func (s *store) dir(name string) string { return filepath.Join(s.root, name) }

// load reads every record. A directory without a readable record (a crash
// between mkdir and the first write) is skipped, never half-loaded.
func (s *store) load() ([]VM, []error) {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, []error{fmt.Errorf("read VM store: %w", err)}
	}
	var vms []VM
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || ValidName(e.Name()) != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir(e.Name()), recordFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read VM %s: %w", e.Name(), err))
			continue
		}
		var vm VM
		if err := json.Unmarshal(b, &vm); err != nil || vm.Name != e.Name() {
			errs = append(errs, fmt.Errorf("read VM %s: corrupt record", e.Name()))
			continue
		}
		vms = append(vms, vm)
	}
	return vms, errs
}

func (s *store) save(vm VM) error {
	if err := os.MkdirAll(s.dir(vm.Name), 0o700); err != nil {
		return fmt.Errorf("save VM %s: %w", vm.Name, err)
	}
	b, err := json.MarshalIndent(vm, "", "  ")
	if err != nil {
		return fmt.Errorf("save VM %s: %w", vm.Name, err)
	}
	if err := atomicfile.Write(filepath.Join(s.dir(vm.Name), recordFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save VM %s: %w", vm.Name, err)
	}
	return nil
}

// token returns the VM's agent token, creating it on first use.
func (s *store) token(name string) (string, error) {
	path := filepath.Join(s.dir(name), tokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if t := strings.TrimSpace(string(b)); len(t) == 64 {
			return t, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read token of %s: %w", name, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("token for %s: %w", name, err)
	}
	t := hex.EncodeToString(raw)
	if err := os.MkdirAll(s.dir(name), 0o700); err != nil {
		return "", fmt.Errorf("token for %s: %w", name, err)
	}
	if err := atomicfile.Write(path, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("token for %s: %w", name, err)
	}
	return t, nil
}

func (s *store) remove(name string) error {
	if err := os.RemoveAll(s.dir(name)); err != nil {
		return fmt.Errorf("remove VM %s data: %w", name, err)
	}
	return nil
}
