//go:build linux

package vpn

import "golang.org/x/sys/unix"

const (
	filterSupported = true
	auditArch       = unix.AUDIT_ARCH_AARCH64
	sysOpen         = unix.SYS_OPENAT // arm64 has no open(2)
)
