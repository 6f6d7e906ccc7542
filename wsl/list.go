package wsl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/velocitty/microvm/errdefs"
)

// Distro is one registered distribution as "wsl -l -v" shows it.
type Distro struct {
	Name    string
	State   string // "Running", "Stopped", "Installing", ... (never localized)
	Version int    // 1 or 2
	Default bool
}

// Distribution states printed by "wsl -l -v".
const (
	StateRunning = "Running"
	StateStopped = "Stopped"
)

// List returns the registered distributions. It asks "-l -q" first: with
// no distribution registered "-l -v" fails with the no-distribution
// message, while "-l -q" prints nothing and succeeds.
func (r *Runner) List(ctx context.Context) ([]Distro, error) {
	out, err := r.Run(ctx, "--list", "--quiet")
	if err != nil {
		return nil, fmt.Errorf("list distributions: %w", err)
	}
	if len(lines(out)) == 0 {
		return nil, nil
	}
	out, err = r.Run(ctx, "--list", "--verbose")
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, nil // all unregistered between the two calls
	}
	if err != nil {
		return nil, fmt.Errorf("list distributions: %w", err)
	}
	return parseVerbose(out)
}

// Find returns the distribution named name (case-insensitively, as WSL
// compares names) or an errdefs.ErrNotFound error.
func (r *Runner) Find(ctx context.Context, name string) (Distro, error) {
	ds, err := r.List(ctx)
	if err != nil {
		return Distro{}, err
	}
	for _, d := range ds {
		if strings.EqualFold(d.Name, name) {
			return d, nil
		}
	}
	return Distro{}, fmt.Errorf("distribution %s: %w", name, errdefs.ErrNotFound)
}

// parseVerbose parses "wsl -l -v": a header line, then one line per
// distribution, "*" in the first column for the default. The header and
// the states are hard-coded English in wsl.exe; names have no spaces
// (the name rule), so fields split on white space.
func parseVerbose(out string) ([]Distro, error) {
	ls := lines(out)
	if len(ls) == 0 {
		return nil, nil
	}
	if f := strings.Fields(ls[0]); len(f) != 3 || f[0] != "NAME" {
		return nil, fmt.Errorf("parse wsl --list --verbose: unexpected header %q: %w", ls[0], errdefs.ErrInternal)
	}
	ds := make([]Distro, 0, len(ls)-1)
	for _, l := range ls[1:] {
		f := strings.Fields(l)
		d := Distro{}
		if len(f) == 4 && f[0] == "*" {
			d.Default, f = true, f[1:]
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("parse wsl --list --verbose: line %q: %w", l, errdefs.ErrInternal)
		}
		v, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("parse wsl --list --verbose: version in %q: %w", l, errdefs.ErrInternal)
		}
		d.Name, d.State, d.Version = f[0], f[1], v
		ds = append(ds, d)
	}
	return ds, nil
}
