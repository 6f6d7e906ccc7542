package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/velocitty/microvm/errdefs"
)

// Unpack extracts a root file system tarball (plain, gzip, xz or zstd)
// into dir, which must not exist yet. It extracts into a sibling
// directory and renames it into place, so dir appears complete or not at
// all. Owners, modes and device nodes are kept (it runs GNU tar as root).
func Unpack(ctx context.Context, tarball, dir string) error {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("unpack into %s: %w", dir, errdefs.ErrAlreadyExists)
	}
	if _, err := os.Stat(tarball); err != nil {
		return fmt.Errorf("unpack %s: %w", tarball, errors.Join(errdefs.ErrNotFound, err))
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("unpack into %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".unpack-*")
	if err != nil {
		return fmt.Errorf("unpack into %s: %w", dir, err)
	}
	out, err := exec.CommandContext(ctx, "tar", "--numeric-owner", "--same-permissions", "--same-owner",
		"-xf", tarball, "-C", tmp).CombinedOutput()
	if err == nil {
		// A tarball's "./" entry sets the mode of tmp (0700 from MkdirTemp otherwise).
		err = os.Chmod(tmp, 0o755)
	}
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		rmErr := os.RemoveAll(tmp)
		return fmt.Errorf("unpack %s into %s: %w: %s", tarball, dir, errors.Join(err, rmErr), strings.TrimSpace(string(out)))
	}
	return nil
}
