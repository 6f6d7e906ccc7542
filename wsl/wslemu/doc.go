// Package wslemu is a wsl.exe emulator for tests on Linux. It follows the
// CLI contract of the real wsl.exe as far as microvm relies on it: the
// output encoding (UTF-16LE without BOM unless WSL_UTF8=1, CRLF), errors
// on stdout with an "Error code: Wsl/.../WSL_E_*" line and exit status -1
// (255 here), the name rule, the import checks, the default distribution,
// the list variants, --exec versus shell-string commands, terminate,
// unregister and idle termination. Each distribution runs as a namespace
// sandbox (mount, PID, UTS and IPC namespaces, host network shared, as
// WSL2 distributions share the VM's), so a real guest agent can run
// inside. It needs root.
//
// Configuration is by environment, since it is started as wsl.exe:
//
//	MICROVM_WSLEMU_STATE    state directory (default: a directory in os.TempDir)
//	MICROVM_WSLEMU_IDLE_MS  idle time before a distribution without clients stops (default 15000)
//	MICROVM_WSLEMU_FAULT    stall | not-installed | no-virtualization | wsl1-only
//	WSL_UTF8                "1" for UTF-8 output, as wsl.exe
//
// Why not package sandbox: WSL starts every session's program from the
// distribution's own init, so nothing outside the distribution is its
// parent. Entering a box from outside (nsenter, as sandbox.Box.Command
// does) leaves the entering process as the parent; nsenter stops itself
// when its child is stopped, so a guest paused with SIGSTOP (how the
// backend pauses on WSL) would stall its wsl.exe for good. The emulator
// therefore runs its own PID 1 in the new namespaces, which starts
// sessions with the client's standard streams passed over a socket,
// reaps them and reports the raw wait status, and exits when idle.
//
// It is test infrastructure and never part of a shipped binary.
package wslemu
