//go:build linux

// Package initproc is the agent's PID 1 role (`microvm-agent init`): in a
// sandbox whose first process it is, it starts the real agent as its
// child, forwards termination signals to it, reaps every orphan that the
// kernel reparents to it, and exits with the child's status.
//
// Outside PID 1 it marks itself a child subreaper, so orphans come to it
// all the same (this is how its tests run without a PID namespace).
package initproc

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Forwarded are the signals passed on to the child.
var Forwarded = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// Run starts argv (argv[0] is the program's path) with this process's
// environment and standard files, and serves as its init until it exits.
// It returns the exit code to exit with: the child's, or 128+signal when a
// signal killed it.
func Run(argv []string, log *slog.Logger) int {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if os.Getpid() != 1 {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			log.Warn("init_subreaper_failed", "err", err)
		}
	}
	// Subscribe before the child exists so that no exit goes unseen.
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, append([]os.Signal{syscall.SIGCHLD}, Forwarded...)...)
	defer signal.Stop(sigs)

	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		log.Error("init_start_failed", "argv0", argv[0], "err", err)
		return 127
	}
	log.Debug("init_started", "pid", pid)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			syscall.Kill(pid, sig.(syscall.Signal))
			continue
		}
		if st, done := reap(pid); done {
			return exitCode(st)
		}
	}
	return 1 // unreachable: sigs is never closed
}

// reap collects every exited child and reports the status of pid once it
// is among them.
func reap(pid int) (syscall.WaitStatus, bool) {
	var (
		found  syscall.WaitStatus
		exited bool
	)
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if wpid <= 0 || err != nil {
			return found, exited
		}
		if wpid == pid && (ws.Exited() || ws.Signaled()) {
			found, exited = ws, true
		}
	}
}

func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
