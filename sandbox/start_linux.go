package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/velocitty/microvm/errdefs"
)

var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Start starts a box and returns once its program runs as PID 1 of the
// box's namespaces. The box is detached: it runs in a session of its own
// and outlives the calling process. ctx bounds the start only.
func Start(ctx context.Context, cfg Config) (*Box, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Hostname == "" {
		cfg.Hostname = cfg.ID
	}
	cg, err := createCgroup(cfg.ID)
	if err != nil {
		return nil, fmt.Errorf("start box %s: %w", cfg.ID, err)
	}
	b, err := start(ctx, cfg, cg)
	if err != nil {
		// The helper, if it ran, is gone; only the cgroup is left.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return nil, errors.Join(fmt.Errorf("start box %s: %w", cfg.ID, err), cg.remove(rctx))
	}
	return b, nil
}

func (cfg Config) validate() error {
	if !validID.MatchString(cfg.ID) {
		return errdefs.Invalidf("ID", "%q: use 1-128 letters, digits, '.', '_' or '-'", cfg.ID)
	}
	if len(cfg.Argv) == 0 {
		return errdefs.Invalidf("Argv", "empty")
	}
	st, err := os.Stat(cfg.RootFS)
	if err != nil || !st.IsDir() || cfg.RootFS[0] != '/' {
		return errdefs.Invalidf("RootFS", "%q is not an absolute path to a directory", cfg.RootFS)
	}
	return nil
}

func start(ctx context.Context, cfg Config, cg *cgroup) (*Box, error) {
	log, err := openLog(cfg.LogPath)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	defer cfgW.Close()
	stR, stW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	defer stR.Close()

	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{argv0Init, cfg.ID},
		Env:        []string{},
		Stdout:     log,
		Stderr:     log,
		ExtraFiles: []*os.File{cfgR, stW}, // fdConfig, fdStatus
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC,
			Setsid:     true, // its own session: no terminal signals; no Pdeathsig
		},
	}
	err = cmd.Start()
	cfgR.Close()
	stW.Close()
	if err != nil {
		return nil, fmt.Errorf("start helper: %w", err)
	}
	fail := func(err error) (*Box, error) {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	// The helper waits for its config, so it joins the cgroup before it
	// does anything; its program and every descendant stay in it.
	if err := cg.join(cmd.Process.Pid); err != nil {
		return fail(err)
	}
	if err := json.NewEncoder(cfgW).Encode(cfg); err != nil {
		return fail(fmt.Errorf("send config: %w", err))
	}
	cfgW.Close()

	// The status pipe closes on exec (success) or carries the helper's
	// error. A cancelled ctx interrupts the read.
	stop := context.AfterFunc(ctx, func() { stR.SetReadDeadline(time.Now()) })
	msg, err := io.ReadAll(stR)
	stop()
	if err != nil {
		return fail(fmt.Errorf("wait for box init: %w", errors.Join(err, ctx.Err())))
	}
	if len(msg) > 0 {
		cmd.Wait()
		return nil, fmt.Errorf("box init: %s: %w", msg, errdefs.ErrInternal)
	}
	// A helper killed before it could report, or a program that exited
	// at once, is a zombie until reaped: not a running box.
	st, err := readStat(cmd.Process.Pid)
	if err == nil && st.state == 'Z' {
		err = fmt.Errorf("process %d exited: %w", cmd.Process.Pid, errdefs.ErrInternal)
	}
	if err != nil {
		return fail(fmt.Errorf("box init exited at once: %w", err))
	}
	b := &Box{
		ref:    Ref{PID: cmd.Process.Pid, StartTime: st.startTime, Cgroup: cg.dir},
		reaped: make(chan struct{}),
	}
	// This process is the box's parent until it exits: reap it, so that
	// it does not linger as a zombie. The box owns this goroutine; it
	// ends when the box's PID 1 does.
	go func() {
		cmd.Wait()
		close(b.reaped)
	}()
	return b, nil
}

func openLog(path string) (*os.File, error) {
	if path == "" {
		path = os.DevNull
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open box log: %w", err)
	}
	return f, nil
}
