// Package version holds the daemon's build version, set at link time with
// -ldflags "-X github.com/velocitty/microvm/internal/version.Version=...".
package version

// Version is the daemon's version; "dev" for builds outside the Makefile.
var Version = "dev"
