package cli

import "golang.org/x/sys/windows"

// enableVT lets a Windows console interpret the guest's terminal escape
// sequences on out, and returns how to undo it.
func enableVT(out any) (restore func()) {
	fd, ok := fdOf(out)
	if !ok {
		return func() {}
	}
	h := windows.Handle(fd)
	var mode uint32
	if windows.GetConsoleMode(h, &mode) != nil {
		return func() {}
	}
	if windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) != nil {
		return func() {}
	}
	return func() { _ = windows.SetConsoleMode(h, mode) }
}
