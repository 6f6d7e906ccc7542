//go:build linux

package vpn

import "golang.org/x/sys/unix"

const (
	filterSupported = true
	auditArch       = unix.AUDIT_ARCH_X86_64
	sysOpen         = unix.SYS_OPEN
)
