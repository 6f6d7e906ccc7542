// Package wsl drives Windows Subsystem for Linux through wsl.exe and runs
// microvm guests as WSL2 distributions.
//
// Every wsl.exe call goes through a Runner: it runs under a timeout
// (wsl.exe is known to hang), asks for UTF-8 with WSL_UTF8=1 but still
// decodes UTF-16LE, strips carriage returns, and turns wsl.exe's own
// failures into *Error values that carry the argv, the output and the
// "WSL_E_*" code and match the errdefs classes with errors.Is. It refuses
// "wsl --shutdown", which would stop every distribution on the machine.
//
// The Backend gives each VM a distribution named "microvm-<vm>", imported
// from the guest image with --version 2 into the VM's directory (keeping
// the user's default distribution). On every start it provisions the
// guest through "wsl --exec" with stdin, never through a shell string:
// /etc/wsl.conf when the image has none, the agent when its SHA-256
// differs from the shipped binary, and the token (0600). One detached,
// long-running "wsl.exe --exec microvm-agent init -- serve ..." keeps the
// distribution alive (WSL stops a distribution soon after its last client
// leaves) and outlives the daemon; a new daemon finds the guest again by
// "wsl -l -v" and the agent's ping. Pause stops the agent's process tree
// with SIGSTOP from inside the distribution, Resume continues it and sets
// the guest clock from the host's when sleep left it behind. Delete
// terminates, unregisters and removes the VM's files.
//
// The package only runs a program, so it builds on every OS. On Linux its
// tests point the backend at the wsl.exe emulator in wslemu, which runs
// each distribution as a namespace sandbox; MICROVM_WSL_EXE selects the
// program the same way for a whole daemon.
package wsl
