package wsl

import (
	"errors"
	"strings"
	"testing"

	"github.com/velocitty/microvm/errdefs"
)

// Outputs as wsl.exe prints them (the reference's error format section
// and the issues it cites), decoded.
func TestErrorCode(t *testing.T) {
	tests := []struct {
		name, out, code string
		class           error
	}{
		{"distro not found", "There is no distribution with the supplied name.\nError code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND\n", CodeDistroNotFound, errdefs.ErrNotFound},
		{"not found, longer path", "There is no distribution with the supplied name.\nError code: Wsl/Service/ReadDistroConfig/WSL_E_DISTRO_NOT_FOUND\n", CodeDistroNotFound, errdefs.ErrNotFound},
		{"localized label", "没有具有提供的名称的分发。\n错误代码: Wsl/Service/ReadDistroConfig/WSL_E_DISTRO_NOT_FOUND\n", CodeDistroNotFound, errdefs.ErrNotFound},
		{"unregistering then not found", "Unregistering.\nThere is no distribution with the supplied name.\nError code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND\n", CodeDistroNotFound, errdefs.ErrNotFound},
		{"no distributions, no code line", "Windows Subsystem for Linux has no installed distributions.\nYou can resolve this by installing a distribution with the instructions below:\n\nUse 'wsl.exe --list --online' to list available distributions\nand 'wsl.exe --install <Distro>' to install.\n", CodeDefaultDistroNotFound, errdefs.ErrNotFound},
		{"no distributions, old code line", "Windows Subsystem for Linux has no installed distributions.\nError code: Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND\n", CodeDefaultDistroNotFound, errdefs.ErrNotFound},
		{"user not found", "User not found.\nError code: Wsl/WSL_E_USER_NOT_FOUND\n", CodeUserNotFound, errdefs.ErrNotFound},
		{"not a linux distro", "The imported file is not a valid Linux distribution.\nError code: Wsl/Service/RegisterDistro/WSL_E_NOT_A_LINUX_DISTRO\n", CodeNotALinuxDistro, errdefs.ErrInvalid},
		{"invalid name", "Invalid distribution name: \"a b\".\nError code: Wsl/Service/RegisterDistro/E_INVALIDARG\n", CodeInvalidArg, errdefs.ErrInvalid},
		{"name exists", "A distribution with the supplied name already exists. Use --name to choose a different name.\nError code: Wsl/Service/RegisterDistro/ERROR_ALREADY_EXISTS\n", CodeAlreadyExists, errdefs.ErrAlreadyExists},
		{"hyper-v missing", "Please enable the Virtual Machine Platform Windows feature and ensure virtualization is enabled in the BIOS.\nError code: Wsl/Service/CreateInstance/CreateVm/HCS/HCS_E_HYPERV_NOT_INSTALLED\n", CodeHyperVNotInstalled, errdefs.ErrUnavailable},
		{"hcs service", "Error code: Wsl/Service/RegisterDistro/CreateVm/HCS/HCS_E_SERVICE_NOT_AVAILABLE\n", CodeHCSNotAvailable, errdefs.ErrUnavailable},
		{"optional component", "This application requires the Windows Subsystem for Linux Optional Component.\nInstall it by running: wsl.exe --install --no-distribution\n", CodeOptionalComponent, errdefs.ErrUnavailable},
		{"local system", "Running WSL as local system is not supported.\nError code: Wsl/WSL_E_LOCAL_SYSTEM_NOT_SUPPORTED\n", CodeLocalSystem, errdefs.ErrUnsupported},
		{"corrupt tar", "Unspecified error\nError code: Wsl/Service/RegisterDistro/E_FAIL\n", "E_FAIL", nil},
		{"unknown hresult", "Error code: Wsl/Service/0x800700b7\n", "0x800700b7", nil},
		{"usage", "Invalid command line argument: --bogus\nPlease use 'wsl.exe --help' to get a list of supported arguments.\n", CodeInvalidUsage, errdefs.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := errorCode(tt.out)
			if code != tt.code {
				t.Fatalf("errorCode = %q, want %q", code, tt.code)
			}
			e := &Error{Argv: []string{"wsl.exe", "-t", "x"}, Output: tt.out, Code: code, ExitCode: -1}
			for _, c := range []error{errdefs.ErrNotFound, errdefs.ErrInvalid, errdefs.ErrAlreadyExists, errdefs.ErrUnavailable, errdefs.ErrUnsupported} {
				if got := errors.Is(e, c); got != (c == tt.class) {
					t.Errorf("errors.Is(%v) = %v", c, got)
				}
			}
			if !strings.Contains(e.Error(), "wsl.exe -t x") || (code != "" && !strings.Contains(e.Error(), code)) {
				t.Errorf("message lacks argv or code: %s", e)
			}
		})
	}
}

func TestErrorHints(t *testing.T) {
	e := &Error{Argv: []string{"wsl.exe", "--import"}, Code: CodeHyperVNotInstalled, ExitCode: -1}
	if !strings.Contains(e.Error(), "Virtual Machine Platform") || !strings.Contains(e.Error(), "firmware") {
		t.Errorf("no actionable hint: %s", e)
	}
}
