//go:build !linux

package wslemu

import (
	"fmt"
	"os"
)

// Main reports that the emulator needs Linux: its distributions are
// Linux namespaces.
func Main(args []string) int {
	fmt.Fprintln(os.Stderr, "wslemu: runs on Linux only")
	return 255
}
