//go:build unix

package cli

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// watchResize calls resize with the terminal's size now and whenever the
// window changes (SIGWINCH), until the returned stop is called. The signal
// is registered before it returns, so no change is missed.
func watchResize(size func() (uint16, uint16, bool), resize func(cols, rows uint16)) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	sig <- syscall.SIGWINCH // the size may have changed since the shell opened
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-done:
				return
			case <-sig:
				if cols, rows, ok := size(); ok {
					resize(cols, rows)
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
