package daemon

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/velocitty/microvm/api"
)

// ErrLocked reports a data directory in use by another daemon.
var ErrLocked = errors.New("data directory is locked")

const lockName = "daemon.lock"

// lockDataDir takes the data directory's lock for the life of the daemon,
// so that two daemons never manage the same VMs.
func lockDataDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockName)
	unlock, err = tryLock(path)
	if errors.Is(err, errWouldBlock) {
		detail := "another microvm-api"
		if d, derr := readDiscovery(filepath.Join(dir, api.DiscoveryFile)); derr == nil && d.PID > 0 {
			detail = fmt.Sprintf("microvm-api pid %d (%s)", d.PID, d.URL)
		}
		return nil, fmt.Errorf("%w: %s is already serving %s", ErrLocked, detail, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return unlock, nil
}
