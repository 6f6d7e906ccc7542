// Package leakcheck fails a test that leaves goroutines or file descriptors
// behind. Call Check at the start of a test; at cleanup it polls until the
// counts settle back to where they were, and reports the difference if they
// do not within a few seconds.
package leakcheck

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Check records the current goroutine and fd counts and, when t's cleanups
// run, waits for both to come back to them. Register it before the
// cleanups that stop the code under test so it runs after them.
func Check(t testing.TB) {
	t.Helper()
	g0, fd0 := runtime.NumGoroutine(), FDs()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		var g, fd int
		for {
			g, fd = runtime.NumGoroutine(), FDs()
			if g <= g0 && fd <= fd0 {
				return
			}
			if time.Now().After(deadline) {
				break
			}
			// Idle splice pipes sit in a sync.Pool until two collections
			// drop them and their finalizers close the fds.
			runtime.GC()
			time.Sleep(20 * time.Millisecond)
		}
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("leak: goroutines %d -> %d, fds %d -> %d\nopen fds:\n%s\ngoroutines:\n%s",
			g0, g, fd0, fd, fdList(), buf)
	})
}

// FDs counts this process's open file descriptors.
func FDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents) - 1 // the directory being read
}

func fdList() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b strings.Builder
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		b.WriteString(e.Name() + " -> " + target + "\n")
	}
	return b.String()
}
