package linuxvm

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/internal/atomicfile"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/sandbox"
)

// boxFile is what the backend persists of a running guest, so a restarted
// daemon finds it again.
type boxFile struct {
	Box       sandbox.Ref `json:"box"`
	AgentPort int         `json:"agentPort"`
	SocksPort int         `json:"socksPort"`
	StartedAt time.Time   `json:"startedAt"`
}

func boxPath(s machine.Spec) string { return filepath.Join(s.Dir, boxFileName) }

// readBox returns the persisted box, or ErrNotFound when there is none.
func readBox(s machine.Spec) (boxFile, error) {
	var f boxFile
	data, err := os.ReadFile(boxPath(s))
	if errors.Is(err, os.ErrNotExist) {
		return f, fmt.Errorf("VM %s: no box: %w", s.Name, errdefs.ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("read %s: %w", boxPath(s), err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("read %s: %w", boxPath(s), errors.Join(errdefs.ErrInternal, err))
	}
	return f, nil
}

func writeBox(s machine.Spec, f boxFile) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", boxPath(s), err)
	}
	return atomicfile.Write(boxPath(s), append(data, '\n'), 0o600)
}

func removeBox(s machine.Spec) error {
	if err := os.Remove(boxPath(s)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", boxPath(s), err)
	}
	return nil
}
