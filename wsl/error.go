package wsl

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/velocitty/microvm/errdefs"
)

// Error is a failed wsl.exe call. Code is the last component of the
// "Error code: Wsl/.../WSL_E_*" line wsl.exe prints on stdout (for
// example "WSL_E_DISTRO_NOT_FOUND" or "HCS_E_HYPERV_NOT_INSTALLED"), or
// one inferred from a known English message when no code line was printed;
// it is empty when the program run inside the distribution failed.
// ExitCode is -1 for wsl.exe's own failures (4294967295 on Windows, 255
// from a POSIX emulator).
type Error struct {
	Argv     []string
	Output   string
	Code     string
	ExitCode int
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: exit status %d", strings.Join(e.Argv, " "), e.ExitCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if out := strings.TrimSpace(e.Output); out != "" {
		if len(out) > 2000 {
			out = out[:2000] + "..."
		}
		fmt.Fprintf(&b, ": %s", strings.ReplaceAll(out, "\n", " "))
	}
	if hint := hintFor(e.Code); hint != "" {
		fmt.Fprintf(&b, "; %s", hint)
	}
	return b.String()
}

// Is matches the errdefs class of the WSL error code.
func (e *Error) Is(target error) bool {
	c := classOf(e.Code)
	return c != nil && c == target
}

// Error codes this package classifies. See the reference's "error format"
// notes: the path before the code varies, so only the last component is
// kept.
const (
	CodeDistroNotFound        = "WSL_E_DISTRO_NOT_FOUND"
	CodeDefaultDistroNotFound = "WSL_E_DEFAULT_DISTRO_NOT_FOUND"
	CodeUserNotFound          = "WSL_E_USER_NOT_FOUND"
	CodeInvalidUsage          = "WSL_E_INVALID_USAGE"
	CodeNotALinuxDistro       = "WSL_E_NOT_A_LINUX_DISTRO"
	CodeOptionalComponent     = "WSL_E_WSL_OPTIONAL_COMPONENT_REQUIRED"
	CodeVMPRequired           = "WSL_E_VIRTUAL_MACHINE_PLATFORM_REQUIRED"
	CodeLocalSystem           = "WSL_E_LOCAL_SYSTEM_NOT_SUPPORTED"
	CodeHyperVNotInstalled    = "HCS_E_HYPERV_NOT_INSTALLED"
	CodeHCSNotAvailable       = "HCS_E_SERVICE_NOT_AVAILABLE"
	CodeAlreadyExists         = "ERROR_ALREADY_EXISTS"
	CodeFileExists            = "ERROR_FILE_EXISTS"
	CodeFileNotFound          = "ERROR_FILE_NOT_FOUND"
	CodePathNotFound          = "ERROR_PATH_NOT_FOUND"
	CodeInvalidArg            = "E_INVALIDARG"
)

func classOf(code string) error {
	switch code {
	case CodeDistroNotFound, CodeDefaultDistroNotFound, CodeUserNotFound,
		CodeFileNotFound, CodePathNotFound:
		return errdefs.ErrNotFound
	case CodeAlreadyExists, CodeFileExists:
		return errdefs.ErrAlreadyExists
	case CodeInvalidUsage, CodeNotALinuxDistro, CodeInvalidArg:
		return errdefs.ErrInvalid
	case CodeOptionalComponent, CodeVMPRequired, CodeHyperVNotInstalled, CodeHCSNotAvailable:
		return errdefs.ErrUnavailable
	case CodeLocalSystem:
		return errdefs.ErrUnsupported
	}
	return nil
}

// hintFor says how a user fixes what the code reports.
func hintFor(code string) string {
	switch code {
	case CodeOptionalComponent:
		return hintNotInstalled
	case CodeVMPRequired, CodeHyperVNotInstalled, CodeHCSNotAvailable:
		return hintVirtualization
	case CodeLocalSystem:
		return "run the daemon as the interactive user, not as a service under LocalSystem"
	}
	return ""
}

const (
	hintNotInstalled   = `install WSL by running "wsl.exe --install --no-distribution" in an administrator terminal, then restart Windows`
	hintVirtualization = `enable the "Virtual Machine Platform" optional component ("wsl.exe --install --no-distribution") and turn on virtualization (VT-x/AMD-V) in the firmware settings`
	hintHung           = `wsl.exe did not answer; restart the WSL service (for example "Restart-Service WslService" in an administrator PowerShell)`
)

// codeRE finds the "Wsl/..." token of the "Error code:" line. The label
// is localized (for example "Foutcode:"), the token is not.
var codeRE = regexp.MustCompile(`\bWsl/[A-Za-z0-9_/]*[A-Za-z0-9_]`)

// errorCode extracts the last path component of the error code token in
// wsl.exe's output, falling back to the English messages that are printed
// without a code line.
func errorCode(out string) string {
	if m := codeRE.FindAllString(out, -1); len(m) > 0 {
		tok := m[len(m)-1]
		return tok[strings.LastIndexByte(tok, '/')+1:]
	}
	switch {
	case strings.Contains(out, msgNoDistros):
		return CodeDefaultDistroNotFound
	case strings.Contains(out, msgDistroNotFound):
		return CodeDistroNotFound
	case strings.Contains(out, msgOptionalComponent), strings.Contains(out, msgNotInstalled),
		strings.Contains(out, msgKernelMissing):
		return CodeOptionalComponent
	case strings.Contains(out, msgEnableVirtualization):
		return CodeVMPRequired
	case strings.Contains(out, "Invalid command line argument"), strings.Contains(out, "Usage: wsl.exe"):
		return CodeInvalidUsage
	}
	return ""
}

// English messages (wsl.exe's en-US resources) used when no code is
// printed: WSL_E_DEFAULT_DISTRO_NOT_FOUND and WSL_E_INVALID_USAGE never
// print one, and older builds print none for missing components.
const (
	msgNoDistros            = "has no installed distributions"
	msgNoRunning            = "There are no running distributions."
	msgDistroNotFound       = "There is no distribution with the supplied name."
	msgOptionalComponent    = "requires the Windows Subsystem for Linux Optional Component"
	msgNotInstalled         = "Windows Subsystem for Linux is not installed"
	msgKernelMissing        = "kernel file is not found"
	msgEnableVirtualization = "virtualization is not enabled"
	msgWSL2Unsupported      = "WSL2 is not supported with your current machine configuration"
)
