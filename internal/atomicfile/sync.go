package atomicfile

import (
	"errors"
	"runtime"
	"syscall"
)

// isUnsupportedSync reports errors from platforms (Windows) and
// filesystems that cannot fsync a directory; the rename is still atomic.
func isUnsupportedSync(err error) bool {
	return runtime.GOOS == "windows" || errors.Is(err, syscall.EINVAL)
}
