package monitor

import (
	"os"
	"syscall"
)

// KeepAwake re-executes the program with Setting unless its environment
// has it. Call it first thing in main. It returns only when it did
// nothing or exec failed; either way the program runs on, at worst with
// the runtime's default.
func KeepAwake() {
	if Set() {
		syscall.Exec("/proc/self/exe", os.Args, os.Environ())
	}
}
