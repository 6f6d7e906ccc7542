//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/internal/procwait"
	"github.com/velocitty/microvm/guest/internal/userenv"
)

// execWaitDelay is how long output pipes may stay open after the program
// exited or was killed (a grandchild may hold them).
const execWaitDelay = 2 * time.Second

func (s *Server) handleExec(w http.ResponseWriter, r *http.Request) {
	var req agentapi.ExecRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxExecRequest))
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, agentapi.CodeTooLarge, fmt.Sprintf("request larger than %d bytes", mbe.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, agentapi.CodeInvalid, "body: "+err.Error())
		return
	}
	if msg := validateExec(req); msg != "" {
		writeError(w, http.StatusBadRequest, agentapi.CodeInvalid, msg)
		return
	}
	if !acquire(&s.nExecs, s.cfg.MaxExecs) {
		writeError(w, http.StatusServiceUnavailable, agentapi.CodeUnavailable, "too many programs running")
		return
	}
	res, err := s.run(r.Context(), req)
	s.nExecs.Add(-1)
	if err != nil {
		writeStartError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// writeStartError answers a program that could not be started: the
// caller's fault (400) when the program or directory is missing or not
// allowed, the agent's otherwise.
func writeStartError(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, agentapi.CodeInternal
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		status, code = http.StatusBadRequest, agentapi.CodeInvalid
	}
	writeError(w, status, code, err.Error())
}

func validateExec(req agentapi.ExecRequest) string {
	if len(req.Argv) == 0 || req.Argv[0] == "" {
		return "argv: must name a program"
	}
	if req.TimeoutSeconds < 0 {
		return "timeoutSeconds: must not be negative"
	}
	for _, a := range req.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return "argv: NUL byte in an argument"
		}
	}
	for _, e := range req.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" || strings.IndexByte(e, 0) >= 0 {
			return fmt.Sprintf("env: %q is not KEY=VALUE", e)
		}
	}
	return ""
}

// run executes req in its own process group and kills the whole group when
// the timeout passes or ctx ends (client gone, agent shutting down).
func (s *Server) run(ctx context.Context, req agentapi.ExecRequest) (agentapi.ExecResult, error) {
	timeout := s.cfg.ExecTimeout
	if req.TimeoutSeconds > 0 {
		timeout = min(time.Duration(req.TimeoutSeconds)*time.Second, s.cfg.MaxExecTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	u := userenv.Current()
	env := append(u.Env(""), req.Env...)
	path, err := userenv.LookPath(req.Argv[0], env)
	if err != nil {
		return agentapi.ExecResult{}, err
	}
	cmd := exec.CommandContext(ctx, path, req.Argv[1:]...)
	cmd.Args[0] = req.Argv[0]
	cmd.Env = env
	cmd.Dir = req.Dir
	if cmd.Dir == "" {
		cmd.Dir = u.Dir()
	}
	if req.Stdin != "" {
		cmd.Stdin = strings.NewReader(req.Stdin)
	}
	stdout := &capWriter{max: s.cfg.MaxOutput}
	stderr := &capWriter{max: s.cfg.MaxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = execWaitDelay

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return agentapi.ExecResult{}, fmt.Errorf("exec %q: %w", req.Argv[0], err)
	}
	s.log.Debug("exec_started", "argv0", req.Argv[0], "pid", cmd.Process.Pid)
	procwait.Exited(cmd.Process.Pid)
	waitErr := cmd.Wait()
	res := agentapi.ExecResult{
		ExitCode:        cmd.ProcessState.ExitCode(),
		TimedOut:        errors.Is(ctx.Err(), context.DeadlineExceeded),
		Stdout:          stdout.buf.String(),
		Stderr:          stderr.buf.String(),
		StdoutTruncated: stdout.truncated,
		StderrTruncated: stderr.truncated,
		DurationMillis:  time.Since(start).Milliseconds(),
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.ExitCode = -1
		res.Signal = ws.Signal().String()
	}
	if waitErr != nil && !errors.Is(waitErr, exec.ErrWaitDelay) {
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) && ctx.Err() == nil {
			return res, fmt.Errorf("exec %q: %w", req.Argv[0], waitErr)
		}
	}
	return res, nil
}

// capWriter keeps the first max bytes written to it and notes the rest.
// It never fails, so the program is not disturbed by the cap.
type capWriter struct {
	max       int
	buf       strings.Builder
	truncated bool
}

func (c *capWriter) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room < len(p) {
		c.truncated = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	c.buf.Write(p)
	return len(p), nil
}
