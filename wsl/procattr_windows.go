package wsl

import (
	"os/exec"
	"syscall"
)

// Process creation flags (winbase.h).
const (
	createNewProcessGroup  = 0x00000200
	detachedProcess        = 0x00000008
	createNoWindow         = 0x08000000
	createBreakawayFromJob = 0x01000000
)

// callAttr hides the console window a wsl.exe call would open.
func callAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{HideWindow: true, CreationFlags: createNoWindow}
}

// detachedAttr starts the keep-alive wsl.exe without a console and in a
// process group of its own, so that it outlives the daemon and Ctrl+C in
// the daemon's console does not reach it. With breakaway it also leaves
// the daemon's job object, if any, so closing the job does not kill it;
// a job that forbids breakaway makes that start fail, and the caller
// retries without.
func detachedAttr(breakaway bool) *syscall.SysProcAttr {
	flags := uint32(createNewProcessGroup | detachedProcess)
	if breakaway {
		flags |= createBreakawayFromJob
	}
	return &syscall.SysProcAttr{HideWindow: true, CreationFlags: flags}
}

// killTree kills wsl.exe. It has no children of its own on Windows: the
// Linux side ends when the client goes.
func killTree(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
