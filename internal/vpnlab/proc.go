//go:build linux

package vpnlab

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a child process of the lab whose output goes to the test log.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process was reaped
	err  error         // Wait's result, valid after done
	logs sync.WaitGroup
}

// startProc starts argv inside the named network namespace (when ns is not
// empty) and waits until a line of its output contains ready.
func startProc(t testing.TB, name, ns, ready string, argv ...string) (*proc, error) {
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// No Pdeathsig: it fires when the forking OS thread ends, which a Go
	// program does not control (a goroutine that exits locked ends its
	// thread). What a crashed test leaves behind is swept by the next lab.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	readyc := make(chan struct{})
	p.logs.Go(func() {
		sc := bufio.NewScanner(pr)
		seen := false
		for sc.Scan() {
			line := sc.Text()
			t.Logf("%s: %s", name, line)
			if !seen && strings.Contains(line, ready) {
				seen = true
				close(readyc)
			}
		}
		io.Copy(io.Discard, pr)
	})
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	select {
	case <-readyc:
		return p, nil
	case <-p.done:
		p.logs.Wait()
		return nil, fmt.Errorf("%s exited before it was ready: %w", name, p.err)
	case <-time.After(15 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s not ready after 15s", name)
	}
}

// stop ends the process (SIGTERM, then SIGKILL after two seconds), reaps it
// and waits for its output to be drained. It is safe to call twice.
func (p *proc) stop() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(2 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.logs.Wait()
}
