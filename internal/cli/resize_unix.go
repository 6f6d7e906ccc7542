//go:build unix

package cli

import (
	"os"
	"os/signal"
	"syscall"
)

// watchResize calls resize with the terminal's size whenever the window
// changes (SIGWINCH), until stop is closed.
func watchResize(stop <-chan struct{}, size func() (uint16, uint16, bool), resize func(cols, rows uint16)) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	defer signal.Stop(sig)
	for {
		select {
		case <-stop:
			return
		case <-sig:
			if cols, rows, ok := size(); ok {
				resize(cols, rows)
			}
		}
	}
}
