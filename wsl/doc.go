// Package wsl drives Windows Subsystem for Linux through wsl.exe and runs
// microvm guests as WSL2 distributions.
//
// Every wsl.exe call goes through a Runner: it runs under a context
// deadline (wsl.exe is known to hang), asks for UTF-8 with WSL_UTF8=1 but
// still decodes UTF-16LE, strips carriage returns, and turns wsl.exe's own
// failures into *Error values that carry the argv, the output and the
// "WSL_E_*" code and match the errdefs classes with errors.Is.
//
// The package only runs a program, so it builds on every OS. On Linux its
// tests point MICROVM_WSL_EXE at the wsl.exe emulator in wslemu, which runs
// each distribution as a namespace sandbox.
package wsl
