//go:build !linux

package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/velocitty/microvm/errdefs"
)

var errNotLinux = fmt.Errorf("namespace sandbox: only on Linux: %w", errdefs.ErrUnsupported)

// Box is a started or attached box; off Linux there are none.
type Box struct {
	ref Ref
}

// Ref returns what Attach needs to find the box again.
func (b *Box) Ref() Ref { return b.ref }

// IsChild reports false: there are no helper roles off Linux.
func IsChild() bool { return false }

// ChildMain exits: there are no helper roles off Linux.
func ChildMain() { os.Exit(1) }

// CgroupAvailable reports ErrUnsupported off Linux.
func CgroupAvailable() error { return errNotLinux }

// Start fails off Linux.
func Start(context.Context, Config) (*Box, error) { return nil, errNotLinux }

// Attach fails off Linux.
func Attach(Ref) (*Box, error) { return nil, errNotLinux }

// Remove fails off Linux.
func Remove(context.Context, Ref) error { return errNotLinux }

// Unpack fails off Linux.
func Unpack(context.Context, string, string) error { return errNotLinux }

// Alive reports false off Linux.
func (b *Box) Alive() bool { return false }

// Command returns a command that fails to start off Linux.
func (b *Box) Command(ctx context.Context, argv []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "false")
	cmd.Err = errNotLinux
	return cmd
}

// Freeze fails off Linux.
func (b *Box) Freeze(context.Context) error { return errNotLinux }

// Thaw fails off Linux.
func (b *Box) Thaw(context.Context) error { return errNotLinux }

// Frozen fails off Linux.
func (b *Box) Frozen() (bool, error) { return false, errNotLinux }

// Signal fails off Linux.
func (b *Box) Signal(os.Signal) error { return errNotLinux }

// Wait fails off Linux.
func (b *Box) Wait(context.Context) error { return errNotLinux }

// Kill fails off Linux.
func (b *Box) Kill(context.Context) error { return errNotLinux }

// Destroy fails off Linux.
func (b *Box) Destroy(context.Context) error { return errNotLinux }
