//go:build linux

package wslemu

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf16"
)

// exitWSL is wsl.exe's own failure status -1, as a POSIX exit status.
// Windows callers see 4294967295 instead.
const exitWSL = 255

// English messages of wsl.exe (its en-US resources).
const (
	msgOK                = "The operation completed successfully."
	msgDistroNotFound    = "There is no distribution with the supplied name."
	msgNoDistros         = "Windows Subsystem for Linux has no installed distributions.\nYou can resolve this by installing a distribution with the instructions below:\n\nUse 'wsl.exe --list --online' to list available distributions\nand 'wsl.exe --install <Distro>' to install."
	msgNoRunning         = "There are no running distributions."
	msgListHeader        = "Windows Subsystem for Linux Distributions:"
	msgInvalidArg        = "Invalid command line argument: %s\nPlease use 'wsl.exe --help' to get a list of supported arguments."
	msgMissingParam      = "Argument %s is missing a required parameter."
	msgNameExists        = "A distribution with the supplied name already exists. Use --name to choose a different name."
	msgPathInUse         = "The supplied install location is already in use."
	msgInvalidName       = "Invalid distribution name: \"%s\"."
	msgNotLinux          = "The imported file is not a valid Linux distribution."
	msgUnspecified       = "Unspecified error"
	msgFileNotFound      = "The system cannot find the file specified."
	msgPathNotFound      = "The system cannot find the path specified."
	msgUserNotFound      = "User not found."
	msgPassVhd           = "This looks like a VHD file. Use --vhd to import a VHD instead of a tar."
	msgDistroAlreadySet  = "The distribution name has already been set."
	msgOptionalComponent = "This application requires the Windows Subsystem for Linux Optional Component.\nInstall it by running: wsl.exe --install --no-distribution\nThe system may need to be restarted so the changes can take effect."
	msgEnableVirt        = "WSL2 is unable to start since virtualization is not enabled on this machine.\nPlease ensure the \"Virtual Machine Platform\" optional component is enabled and virtualization is turned on in your computer's firmware settings.\n\nEnable \"Virtual Machine Platform\" by running: wsl.exe --install --no-distribution\n\nFor information please visit https://aka.ms/enablevirtualization"
	msgWSL1Unsupported   = "WSL1 is not supported with your current machine configuration.\nPlease enable the \"Windows Subsystem for Linux\" optional component to use WSL1."
	msgUsage             = "Copyright (c) Microsoft Corporation. All rights reserved.\nFor privacy information about this product please visit https://aka.ms/privacy.\n\nUsage: wsl.exe [Argument] [Options...] [CommandLine]\n\nArguments for running Linux binaries:\n\n    --exec, -e <CommandLine>\n        Execute the specified command without using the default Linux shell.\n\n    --\n        Pass the remaining command line as-is."
	msgVersions          = "WSL version: 2.6.1.0\nKernel version: 6.6.87.2-1\nWSLg version: 1.0.66\nMSRDC version: 1.2.6074\nDirect3D version: 1.611.1-81528511\nDXCore version: 10.0.26100.1-240331-1435.ge-release\nWindows version: 10.0.26100.4652"
)

// printer writes wsl.exe's own text: "\n" becomes "\r\n" (the CRT's
// text mode) and the bytes are UTF-16LE without a byte order mark unless
// WSL_UTF8=1, per the reference's transport rules.
type printer struct {
	w    io.Writer
	utf8 bool
}

func newPrinter(w io.Writer) printer { return printer{w: w, utf8: os.Getenv("WSL_UTF8") == "1"} }

func (p printer) line(format string, args ...any) {
	s := format
	if len(args) > 0 {
		s = fmt.Sprintf(format, args...)
	}
	p.raw(s + "\n")
}

func (p printer) raw(s string) {
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if p.utf8 {
		io.WriteString(p.w, s)
		return
	}
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	p.w.Write(b)
}

// wslError is a failure of wsl.exe itself: the message, then the error
// code line (none for codes wsl.exe prints without one, such as
// WSL_E_DEFAULT_DISTRO_NOT_FOUND), on stdout, with exit status -1 (the
// reference's error format and streams rules).
type wslError struct {
	msg  string
	code string // e.g. "Wsl/Service/WSL_E_DISTRO_NOT_FOUND"; "" prints no code line
}

func (e *wslError) Error() string { return e.msg }

func errf(code, format string, args ...any) *wslError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &wslError{msg: msg, code: code}
}

func errNotFound() *wslError { return errf("Wsl/Service/WSL_E_DISTRO_NOT_FOUND", msgDistroNotFound) }

// report prints err the way wsl.exe's Main does and returns the exit status.
func (p printer) report(err error) int {
	we, ok := err.(*wslError)
	if !ok {
		we = errf("Wsl/E_UNEXPECTED", "Catastrophic failure: %v", err)
	}
	if we.code == "" {
		p.line("%s", we.msg)
	} else {
		p.line("%s\nError code: %s", we.msg, we.code)
	}
	return exitWSL
}
