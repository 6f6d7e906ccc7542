//go:build !windows

package errdefs

import "syscall"

var noSpaceErrnos = []error{syscall.ENOSPC, syscall.EDQUOT}
