//go:build linux

package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	if tok, err := ReadTokenFile(write("ok", "s3cret\n", 0o600)); err != nil || tok != "s3cret" {
		t.Errorf("0600: %q %v", tok, err)
	}
	if tok, err := ReadTokenFile(write("ro", "s3cret", 0o400)); err != nil || tok != "s3cret" {
		t.Errorf("0400: %q %v", tok, err)
	}
	for name, tc := range map[string]struct {
		path, want string
	}{
		"group readable": {write("g", "x", 0o640), "must be 0600"},
		"world readable": {write("w", "x", 0o604), "must be 0600"},
		"empty":          {write("e", " \n", 0o600), "empty"},
		"too long":       {write("l", strings.Repeat("x", 5000), 0o600), "longer than"},
		"directory":      {dir, "not a regular file"},
		"missing":        {filepath.Join(dir, "nope"), "no such file"},
	} {
		if _, err := ReadTokenFile(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
