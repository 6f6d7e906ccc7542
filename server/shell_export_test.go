package server

import "time"

// SetShellTimings shortens the shell relay's write timeout, keepalive
// interval, silence limit and close grace for a test; the returned
// function restores the defaults.
func SetShellTimings(write, ping, silence, grace time.Duration) (restore func()) {
	shellTimingsOverride.Store(&shellTimings{write: write, ping: ping, silence: silence, grace: grace})
	return func() { shellTimingsOverride.Store(nil) }
}
