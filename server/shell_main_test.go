package server_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The shell tests run the real guest agent on this host (it needs no VM:
// only a PTY and loopback ports), built once per test binary.
var agentBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	if os.Getenv(shellDaemonEnv) != "" {
		os.Exit(runShellDaemon())
	}
	code := m.Run()
	if agentBuild.dir != "" {
		os.RemoveAll(agentBuild.dir)
	}
	os.Exit(code)
}

// agentBinary builds microvm-agent, or skips t when it cannot run here.
func agentBinary(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the guest agent runs on Linux only")
	}
	agentBuild.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			agentBuild.err = fmt.Errorf("no go tool to build the agent: %w", err)
			return
		}
		if agentBuild.dir, err = os.MkdirTemp("", "microvm-shell-test-"); err != nil {
			agentBuild.err = err
			return
		}
		bin := filepath.Join(agentBuild.dir, "microvm-agent")
		out, err := exec.Command(goTool, "build", "-o", bin, "github.com/velocitty/microvm/guest/cmd/microvm-agent").CombinedOutput()
		if err != nil {
			agentBuild.err = fmt.Errorf("build agent: %w\n%s", err, out)
			return
		}
		agentBuild.bin = bin
	})
	if agentBuild.err != nil {
		t.Skip(agentBuild.err)
	}
	return agentBuild.bin
}

// testAgent is a microvm-agent process serving on loopback.
type testAgent struct {
	addr, token string
	cmd         *exec.Cmd
	done        chan struct{} // closed when the process has been waited for
}

// startAgent runs a real agent until the test ends.
func startAgent(t testing.TB) *testAgent {
	t.Helper()
	bin := agentBinary(t)
	tok := make([]byte, 32)
	rand.Read(tok)
	a := &testAgent{token: hex.EncodeToString(tok), done: make(chan struct{})}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(a.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(bin, "serve", "--control-addr", "127.0.0.1:0", "--socks-addr", "127.0.0.1:0",
		"--token-file", tokenFile, "--max-shells", "128", "--log-level", "info")
	stderr, err := a.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	go func() {
		defer close(a.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct {
				Msg         string `json:"msg"`
				ControlAddr string `json:"control_addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "agent_started" {
				addrc <- line.ControlAddr
			}
		}
		a.cmd.Wait()
	}()
	t.Cleanup(func() {
		a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(10 * time.Second):
			a.cmd.Process.Kill()
			<-a.done
		}
	})
	select {
	case a.addr = <-addrc:
	case <-a.done:
		t.Fatal("agent exited before listening")
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not start listening")
	}
	return a
}

// kill ends the agent abruptly, as a VM that is killed does, and waits.
func (a *testAgent) kill(t testing.TB) {
	t.Helper()
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.done
}

// stop asks the agent to shut down, as a VM that is stopped does.
func (a *testAgent) stop(t testing.TB) {
	t.Helper()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop")
	}
}

// checkGoroutines fails t if goroutines started during it are still
// running once its cleanups are done. Call it first in a test.
func checkGoroutines(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for runtime.NumGoroutine() > before {
			select {
			case <-ctx.Done():
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			case <-tick.C:
			}
		}
	})
}
