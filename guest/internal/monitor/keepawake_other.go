//go:build !linux

package monitor

// KeepAwake does nothing here: there is no re-exec in place of the
// running program.
func KeepAwake() {}
