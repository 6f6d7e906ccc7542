package wsl

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/velocitty/microvm/machine"
)

// keepAlive is the one long-running wsl.exe that runs the agent as the
// guest's supervisor. A distribution lives only while a wsl.exe is
// attached (it is terminated some seconds after the last one leaves), so
// this process is what keeps the guest up. It runs detached, with its
// output in a file, so it outlives the daemon; a new daemon finds the
// guest through "wsl -l -v" and the agent's ping.
type keepAlive struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has been waited for
}

// agentArgv is the command line of the guest's supervisor.
func agentArgv(s machine.Spec) []string {
	return []string{GuestAgentPath, "init", "--", "serve",
		"--control-addr", "127.0.0.1:" + strconv.Itoa(s.AgentPort),
		"--socks-addr", "127.0.0.1:" + strconv.Itoa(s.SocksPort),
		"--token-file", GuestTokenPath}
}

// startKeepAlive starts the supervisor wsl.exe. Its waiter goroutine ends
// when that wsl.exe exits, which Stop, Kill and Delete bring about and
// join.
func (b *Backend) startKeepAlive(ctx context.Context, name string, s machine.Spec) (*keepAlive, error) {
	logPath := filepath.Join(s.Dir, agentLogName)
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keep-alive: %w", err)
	}
	defer out.Close()
	var cmd *exec.Cmd
	for _, breakaway := range []bool{true, false} {
		// Not CommandContext: this process must outlive the request.
		cmd = exec.Command(b.run.Exe(), ExecArgs(name, "root", agentArgv(s)...)...)
		cmd.Env = append(os.Environ(), "WSL_UTF8=1")
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = detachedAttr(breakaway)
		if err = cmd.Start(); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("keep-alive: start %s: %w", b.run.Exe(), err)
	}
	ka := &keepAlive{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(ka.done)
		err := cmd.Wait()
		b.log.Info("wsl_keepalive_exited", "distro", name, "err", err)
	}()
	b.mu.Lock()
	old := b.alive[name]
	b.alive[name] = ka
	b.mu.Unlock()
	if old != nil {
		<-old.done // its distribution was terminated before we got here
	}
	b.log.InfoContext(ctx, "wsl_keepalive_started", "distro", name, "pid", cmd.Process.Pid)
	return ka, nil
}

// joinKeepAlive waits, bounded by ctx, for the keep-alive this process
// started for name to be reaped, once the distribution has been stopped.
func (b *Backend) joinKeepAlive(ctx context.Context, name string) {
	b.mu.Lock()
	ka := b.alive[name]
	b.mu.Unlock()
	if ka == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	select {
	case <-ka.done:
		b.mu.Lock()
		if b.alive[name] == ka {
			delete(b.alive, name)
		}
		b.mu.Unlock()
	case <-ctx.Done():
	}
}
