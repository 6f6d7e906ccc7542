package wsl

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/errdefs"
)

const (
	enableVirt     = "WSL2 is unable to start since virtualization is not enabled on this machine.\nPlease ensure the \"Virtual Machine Platform\" optional component is enabled and virtualization is turned on in your computer's firmware settings.\n\nEnable \"Virtual Machine Platform\" by running: wsl.exe --install --no-distribution\n\nFor information please visit https://aka.ms/enablevirtualization\n"
	wsl1Unsupp     = "WSL1 is not supported with your current machine configuration.\nPlease enable the \"Windows Subsystem for Linux\" optional component to use WSL1.\n"
	versionOut     = "WSL version: 2.0.9.0\nKernel version: 5.15.133.1-1\nWSLg version: 1.0.59\nMSRDC version: 1.2.4677\nDirect3D version: 1.611.1-81528511\nDXCore version: 10.0.25131.1002-220531-1700.rs-onecore-base2-hyp\nWindows version: 10.0.22631.2715\n"
	legacyVMPOut   = "Default Version: 2\nWSL2 is not supported with your current machine configuration.\nPlease enable the \"Virtual Machine Platform\" optional component and ensure virtualization is enabled in the BIOS.\nEnable \"Virtual Machine Platform\" by running: wsl.exe --install --no-distribution\nFor information please visit https://aka.ms/enablevirtualization\n"
	optionalCompOu = "This application requires the Windows Subsystem for Linux Optional Component.\nInstall it by running: wsl.exe --install --no-distribution\nThe system may need to be restarted so the changes can take effect.\nError code: Wsl/WSL_E_WSL_OPTIONAL_COMPONENT_REQUIRED\n"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		responses map[string]fakeResponse
		class     error
		says      string
	}{
		{"ok", map[string]fakeResponse{
			"--version": {Stdout: crlf(versionOut), UTF16: true},
			"--status":  {Stdout: crlf("Default Distribution: Ubuntu\nDefault Version: 2\n"), UTF16: true},
		}, nil, ""},
		{"inbox wsl.exe without --version", map[string]fakeResponse{
			"--status": {Stdout: crlf("Default Version: 2\n"), UTF16: true},
		}, nil, ""},
		{"not installed", map[string]fakeResponse{
			"--version": {Stdout: crlf(optionalCompOu), UTF16: true, Exit: 255},
			"--status":  {Stdout: crlf(optionalCompOu), UTF16: true, Exit: 255},
		}, errdefs.ErrUnavailable, "--install --no-distribution"},
		{"virtualization off", map[string]fakeResponse{
			"--version": {Stdout: crlf(versionOut)},
			"--status":  {Stdout: crlf("Default Version: 2\n" + wsl1Unsupp + enableVirt)},
		}, errdefs.ErrUnavailable, "firmware"},
		{"wsl1 only", map[string]fakeResponse{
			"--version": {Stdout: crlf(versionOut)},
			"--status":  {Stdout: crlf("Default Version: 1\n" + enableVirt)},
		}, errdefs.ErrUnsupported, "only WSL1"},
		{"wsl1 only, older wording", map[string]fakeResponse{
			"--status": {Stdout: crlf(legacyVMPOut), UTF16: true},
		}, errdefs.ErrUnsupported, "Virtual Machine Platform"},
		{"hung", map[string]fakeResponse{"--version": {Stall: true}}, errdefs.ErrTimeout, "WslService"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := fake(t, tt.responses, 3*time.Second)
			info, err := r.Check(context.Background())
			if tt.class == nil {
				if err != nil {
					t.Fatal(err)
				}
				if info.DefaultVersion != 2 {
					t.Errorf("info = %+v", info)
				}
				return
			}
			if !errors.Is(err, tt.class) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("Check = %v, want %v saying %q", err, tt.class, tt.says)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	v, k := parseVersion(versionOut)
	if v != "2.0.9.0" || k != "5.15.133.1-1" {
		t.Errorf("parseVersion = %q, %q", v, k)
	}
	v, k = parseVersion("WSL-versie: 2.4.13.0\nKernelversie: 5.15.167.4-1\n") // localized labels
	if v != "2.4.13.0" || k != "5.15.167.4-1" {
		t.Errorf("localized parseVersion = %q, %q", v, k)
	}
}
