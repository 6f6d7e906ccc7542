//go:build !unix

package cli

import (
	"sync"
	"time"
)

// resizePoll is how often the console size is checked where no signal
// announces a change (Windows consoles).
const resizePoll = 250 * time.Millisecond

// watchResize calls resize with the terminal's size whenever it changes,
// until the returned stop is called.
func watchResize(size func() (uint16, uint16, bool), resize func(cols, rows uint16)) (stop func()) {
	lastCols, lastRows, _ := size()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(resizePoll)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				cols, rows, ok := size()
				if ok && (cols != lastCols || rows != lastRows) {
					lastCols, lastRows = cols, rows
					resize(cols, rows)
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
