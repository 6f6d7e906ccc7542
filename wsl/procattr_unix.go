//go:build !windows

package wsl

import (
	"os/exec"
	"syscall"
)

// callAttr puts each wsl.exe call in its own process group so that a
// timeout ends everything it started.
func callAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// detachedAttr starts the keep-alive wsl.exe in a session of its own, so
// that it outlives the daemon and no terminal signal reaches it.
// breakaway (from a Windows job object) means nothing here.
func detachedAttr(breakaway bool) *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// killTree kills the process group of cmd.
func killTree(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return cmd.Process.Kill()
	}
	return nil
}
