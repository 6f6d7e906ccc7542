package errdefs

import "syscall"

// ERROR_HANDLE_DISK_FULL and ERROR_DISK_FULL: Windows reports a full disk
// with these, never with syscall.ENOSPC.
var noSpaceErrnos = []error{syscall.Errno(39), syscall.Errno(112)}
