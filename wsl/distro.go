package wsl

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/velocitty/microvm/errdefs"
)

// nameRE is the service's distribution name rule; "Legacy" is reserved.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,256}$`)

// ValidName reports whether WSL accepts name as a distribution name.
func ValidName(name string) error {
	if !nameRE.MatchString(name) || strings.EqualFold(name, "Legacy") {
		return errdefs.Invalidf("name", "%q is not a valid WSL distribution name (letters, digits, '.', '_', '-'; at most 256)", name)
	}
	return nil
}

// Import registers the tarball image as the WSL2 distribution name, its
// disk in dir. dir's parent must exist (wsl.exe creates dir without
// parents). Importing makes the new distribution the default only when
// none existed; if the user had a default, it is put back.
func (r *Runner) Import(ctx context.Context, name, dir, image string) error {
	if err := ValidName(name); err != nil {
		return fmt.Errorf("wsl --import %s: %w", name, err)
	}
	before, err := r.List(ctx)
	if err != nil {
		return fmt.Errorf("wsl --import %s: %w", name, err)
	}
	prevDefault := ""
	for _, d := range before {
		if d.Default {
			prevDefault = d.Name
		}
	}
	if _, err := r.runText(ctx, r.importTimeout, []string{"--import", name, dir, image, "--version", "2"}); err != nil {
		return fmt.Errorf("wsl --import %s: %w", name, err)
	}
	if prevDefault == "" {
		return nil // ours is the only one: WSL always has a default then
	}
	after, err := r.List(ctx)
	if err != nil {
		return fmt.Errorf("wsl --import %s: check default: %w", name, err)
	}
	for _, d := range after {
		if d.Default && !strings.EqualFold(d.Name, prevDefault) {
			if _, err := r.Run(ctx, "--set-default", prevDefault); err != nil {
				return fmt.Errorf("wsl --import %s: restore default %s: %w", name, prevDefault, err)
			}
		}
	}
	return nil
}

// Terminate stops every process of the distribution. Stopping a stopped
// distribution succeeds; a missing one is errdefs.ErrNotFound.
func (r *Runner) Terminate(ctx context.Context, name string) error {
	if _, err := r.Run(ctx, "--terminate", name); err != nil {
		return fmt.Errorf("wsl --terminate %s: %w", name, err)
	}
	return nil
}

// Unregister deletes the distribution and its disk. A missing one is not
// an error.
func (r *Runner) Unregister(ctx context.Context, name string) error {
	if _, err := r.Run(ctx, "--unregister", name); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return fmt.Errorf("wsl --unregister %s: %w", name, err)
	}
	return nil
}
