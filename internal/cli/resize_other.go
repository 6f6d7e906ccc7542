//go:build !unix

package cli

import "time"

// resizePoll is how often the console size is checked where no signal
// announces a change (Windows consoles).
const resizePoll = 250 * time.Millisecond

// watchResize calls resize with the terminal's size whenever it changes,
// until stop is closed.
func watchResize(stop <-chan struct{}, size func() (uint16, uint16, bool), resize func(cols, rows uint16)) {
	lastCols, lastRows, _ := size()
	t := time.NewTicker(resizePoll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			cols, rows, ok := size()
			if ok && (cols != lastCols || rows != lastRows) {
				lastCols, lastRows = cols, rows
				resize(cols, rows)
			}
		}
	}
}
