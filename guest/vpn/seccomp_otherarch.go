//go:build linux && !amd64 && !arm64

package vpn

// The agent ships for amd64 and arm64; elsewhere the tun device is moved.
const (
	filterSupported = false
	auditArch       = 0
	sysOpen         = 0
)
