//go:build !windows

package daemon

import (
	"log/slog"
	"os"
	"strings"
	"testing"
)

// A data dir other users can write to is refused: whoever replaces
// api.json there collects the token of every client that reads it.
func TestSharedDataDirRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	err := Run(t.Context(), Options{Listen: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.DiscardHandler), Host: fakeHost})
	if err == nil || !strings.Contains(err.Error(), "writable by other users") {
		t.Fatalf("world-writable data dir: %v", err)
	}
	if _, err := os.Stat(dir + "/token"); !os.IsNotExist(err) {
		t.Fatalf("a token was written into the shared dir: %v", err)
	}
}
