//go:build linux

// Package shell runs interactive programs on pseudo-terminals and serves
// them over the shell websocket (framing in guest/shellproto).
//
// Each Session is a new session (setsid) whose leader owns the PTY as its
// controlling terminal. Ending a session hangs it up the way a closed
// terminal would (SIGHUP to every process in it), then kills whatever is
// left, so a closed client leaves no orphans behind.
package shell

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/internal/procwait"
	"github.com/velocitty/microvm/guest/internal/userenv"
)

// Options describe the program to start.
type Options struct {
	// Argv is the program and its arguments; empty means the user's login
	// shell from /etc/passwd (or /bin/sh).
	Argv []string
	// Cols and Rows are the initial terminal size (80x24 when zero).
	Cols, Rows uint16
	// Env is added to the default environment (KEY=VALUE).
	Env []string
}

// Session is one program running on a PTY.
type Session struct {
	cmd  *exec.Cmd
	pty  *os.File // master side, non-blocking and pollable
	done chan struct{}

	mu     sync.Mutex
	status agentapi.ShellStatus
}

// Start starts the program of opts on a new PTY.
func Start(opts Options) (*Session, error) {
	u := userenv.Current()
	cmd := &exec.Cmd{Env: append(u.Env("xterm-256color"), opts.Env...)}
	if len(opts.Argv) == 0 {
		// A login shell, as sshd starts it: argv[0] begins with '-'.
		cmd.Path = u.Shell
		cmd.Args = []string{"-" + filepath.Base(u.Shell)}
	} else {
		path, err := userenv.LookPath(opts.Argv[0], cmd.Env)
		if err != nil {
			return nil, fmt.Errorf("start %q: %w", opts.Argv[0], err)
		}
		cmd.Path = path
		cmd.Args = opts.Argv
	}
	cmd.Dir = u.Dir()
	cols, rows := opts.Cols, opts.Rows
	if cols == 0 {
		cols = 80
	}
	if rows == 0 {
		rows = 24
	}
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: cols, Rows: rows})
	if err != nil {
		return nil, fmt.Errorf("start %q: %w", cmd.Args[0], err)
	}
	// pty opened the master in blocking mode. A non-blocking duplicate goes
	// through the netpoller, so reads wait without holding a thread and
	// Close interrupts them.
	master, err := pollable(ptmx)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	s := &Session{cmd: cmd, pty: master, done: make(chan struct{})}
	go s.wait()
	return s, nil
}

func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup pty: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("pty nonblock: %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), nil
}

func (s *Session) wait() {
	procwait.Exited(s.cmd.Process.Pid)
	err := s.cmd.Wait()
	st := agentapi.ShellStatus{ExitCode: s.cmd.ProcessState.ExitCode()}
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		st.ExitCode = -1
		st.Signal = ws.Signal().String()
	} else if err != nil && s.cmd.ProcessState == nil {
		st.ExitCode = -1
	}
	s.mu.Lock()
	s.status = st
	s.mu.Unlock()
	close(s.done)
}

// Pid is the session leader's process id (also the session and process
// group id).
func (s *Session) Pid() int { return s.cmd.Process.Pid }

// Read reads terminal output. It fails with an error (EIO) once every
// process holding the terminal has closed it and the output is drained.
func (s *Session) Read(p []byte) (int, error) { return s.pty.Read(p) }

// Write types p into the terminal.
func (s *Session) Write(p []byte) (int, error) { return s.pty.Write(p) }

func (s *Session) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Resize changes the terminal size; the foreground program gets SIGWINCH.
func (s *Session) Resize(cols, rows uint16) error {
	if cols == 0 || rows == 0 {
		return errors.New("resize: zero size")
	}
	rc, err := s.pty.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows})
	})
	if err == nil {
		err = ierr
	}
	return err
}

// Size reports the terminal size.
func (s *Session) Size() (cols, rows uint16, err error) {
	rc, err := s.pty.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var ws *unix.Winsize
	var ierr error
	err = rc.Control(func(fd uintptr) { ws, ierr = unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ) })
	if err == nil {
		err = ierr
	}
	if err != nil {
		return 0, 0, err
	}
	return ws.Col, ws.Row, nil
}

// Done is closed when the session leader has exited.
func (s *Session) Done() <-chan struct{} { return s.done }

// Status is the leader's exit status; valid once Done is closed.
func (s *Session) Status() agentapi.ShellStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Hangup ends every process of the session: SIGHUP as a closed terminal
// sends, then, for those still there after grace, SIGKILL. It returns when
// the leader has been reaped and no process of the session is left.
func (s *Session) Hangup(grace time.Duration) {
	s.signal(syscall.SIGHUP)
	select {
	case <-s.done:
	case <-time.After(grace):
	}
	// Give the rest of the session the same grace the leader had.
	deadline := time.Now().Add(grace)
	for s.signal(0) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < 50 && s.signal(syscall.SIGKILL) > 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	<-s.done
}

// signal sends sig to every process of the session and returns how many
// are alive. The leader's process group is signalled directly as well, so
// that the leader's own jobs end even where /proc cannot be read.
func (s *Session) signal(sig syscall.Signal) int {
	sid := s.Pid()
	if sig != 0 {
		syscall.Kill(-sid, sig)
	}
	return signalSession(sid, sig)
}

// Close releases the terminal. Call it after the session has ended.
func (s *Session) Close() error { return s.pty.Close() }
