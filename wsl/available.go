package wsl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/velocitty/microvm/errdefs"
)

// Info is what "wsl --status" and "wsl --version" tell about the host.
type Info struct {
	Version        string // WSL version, "" for the inbox wsl.exe
	Kernel         string
	DefaultVersion int
	DefaultDistro  string
}

// Check reports whether WSL2 can run distributions here. The error is
// errdefs.ErrUnavailable when WSL is missing or virtualization is off, and
// errdefs.ErrUnsupported when only WSL1 is available; its text tells the
// user how to fix it.
func (r *Runner) Check(ctx context.Context) (Info, error) {
	var info Info
	// The Store wsl.exe knows --version; the inbox one prints usage and
	// fails, which is not an error here.
	if out, err := r.Run(ctx, "--version"); err == nil {
		info.Version, info.Kernel = parseVersion(out)
	} else if errors.Is(err, errdefs.ErrTimeout) || errors.Is(err, errdefs.ErrUnavailable) {
		return info, fmt.Errorf("check WSL: %w", err)
	}
	out, err := r.Run(ctx, "--status")
	if err != nil {
		var we *Error
		if errors.As(err, &we) && classOf(we.Code) == errdefs.ErrUnavailable {
			return info, fmt.Errorf("check WSL: %w", err)
		}
		if errors.As(err, &we) {
			out = we.Output // some builds fail --status yet say why
		} else {
			return info, fmt.Errorf("check WSL: %w", err)
		}
	}
	st := parseStatus(out)
	info.DefaultVersion, info.DefaultDistro = st.defaultVersion, st.defaultDistro
	switch {
	case st.notInstalled:
		return info, fmt.Errorf("check WSL: %w: the Windows Subsystem for Linux is not installed; %s", errdefs.ErrUnavailable, hintNotInstalled)
	case st.noVirtualization && st.wsl1Unsupported:
		return info, fmt.Errorf("check WSL: %w: WSL2 cannot start because virtualization is not enabled; %s", errdefs.ErrUnavailable, hintVirtualization)
	case st.noVirtualization:
		return info, fmt.Errorf("check WSL: %w: only WSL1 is usable here, and microvm needs WSL2 (a real Linux kernel for network namespaces and tun); %s",
			errdefs.ErrUnsupported, hintVirtualization)
	}
	return info, nil
}

type status struct {
	defaultDistro    string
	defaultVersion   int
	notInstalled     bool
	noVirtualization bool // WSL2 cannot start
	wsl1Unsupported  bool
}

// parseStatus reads "wsl --status". Its labels are localized; the
// English ones are parsed and the rest is judged by known messages.
func parseStatus(out string) status {
	var st status
	for _, l := range lines(out) {
		if v, ok := strings.CutPrefix(l, "Default Distribution:"); ok {
			st.defaultDistro = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "Default Version:"); ok {
			st.defaultVersion, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	st.notInstalled = strings.Contains(out, msgNotInstalled) || strings.Contains(out, msgKernelMissing) ||
		strings.Contains(out, msgOptionalComponent)
	st.noVirtualization = strings.Contains(out, msgEnableVirtualization) || strings.Contains(out, msgWSL2Unsupported) ||
		strings.Contains(out, `enable the Virtual Machine Platform`) || strings.Contains(out, `Enable "Virtual Machine Platform"`)
	st.wsl1Unsupported = strings.Contains(out, "WSL1 is not supported")
	return st
}

// parseVersion takes the first two version numbers of "wsl --version",
// whose labels are localized: the WSL and the kernel version.
func parseVersion(out string) (wslVersion, kernel string) {
	var found []string
	for _, l := range lines(out) {
		for f := range strings.FieldsSeq(l) {
			if isVersion(f) {
				found = append(found, f)
				break
			}
		}
	}
	if len(found) > 0 {
		wslVersion = found[0]
	}
	if len(found) > 1 {
		kernel = found[1]
	}
	return wslVersion, kernel
}

func isVersion(s string) bool {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == ',' })
	if len(parts) < 3 {
		return false
	}
	for _, p := range parts[:3] {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return true
}
