//go:build !windows

package cli

// enableVT is needed on Windows consoles only; terminals elsewhere
// interpret escape sequences already.
func enableVT(any) (restore func()) { return func() {} }
