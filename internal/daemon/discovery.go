package daemon

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/internal/atomicfile"
)

// writeDiscovery publishes where the daemon listens, atomically.
func writeDiscovery(path string, d api.Discovery) error {
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return atomicfile.Write(path, append(data, '\n'), 0o644)
}

// readDiscovery reads the discovery file of a daemon, if any.
func readDiscovery(path string) (api.Discovery, error) {
	var d api.Discovery
	data, err := os.ReadFile(path)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return d, fmt.Errorf("decode %s: %w", path, err)
	}
	return d, nil
}
