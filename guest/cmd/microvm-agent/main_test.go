//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/guest/agentclient"
	"github.com/velocitty/microvm/guest/internal/monitor"
	"github.com/velocitty/microvm/guest/shellproto"
)

// forbidden are packages the guest must never link: the daemon's HTTP
// stack and the generated API belong on the host.
var forbidden = []string{
	"github.com/velocitty/microvm/server",
	"github.com/velocitty/microvm/api",
	"github.com/go-chi/chi",
	"github.com/getkin/kin-openapi",
	"github.com/oapi-codegen/",
}

func TestGuestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/velocitty/microvm/guest/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == strings.TrimSuffix(f, "/") || strings.HasPrefix(pkg, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("guest depends on %s", pkg)
			}
		}
	}
}

// TestCrossBuild builds the static binary for both guest architectures.
func TestCrossBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("cross builds take a while")
	}
	for _, arch := range []string{"amd64", "arm64"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(t.TempDir(), "agent"), ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", arch, err, out)
		}
	}
}

// build builds the agent with a version stamped in, as the Makefile does.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "microvm-agent")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X github.com/velocitty/microvm/guest/agentapi.Version=test-1234", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func tokenFile(t *testing.T, mode os.FileMode) string {
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte("tok-abc\n"), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(f, mode)
	return f
}

type agentProc struct {
	cmd     *exec.Cmd
	client  *agentclient.Client
	logs    chan map[string]any
	control string
	socks   string
}

func startAgent(t *testing.T, bin string, args ...string) *agentProc {
	t.Helper()
	p := &agentProc{control: freeAddr(t), socks: freeAddr(t), logs: make(chan map[string]any, 100)}
	p.cmd = exec.Command(bin, append(args, "--control-addr", p.control, "--socks-addr", p.socks, "--token-file", tokenFile(t, 0o600))...)
	// As a sandbox's init starts it: no PATH, no HOME, nothing.
	p.cmd.Env = []string{}
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				select {
				case p.logs <- m:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	p.client = agentclient.New(p.control, "tok-abc")
	t.Cleanup(p.client.Close)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := p.client.Ping(ctx)
		cancel()
		if err == nil {
			return p
		}
		if !errors.Is(err, errdefs.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("agent not up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *agentProc) wait(t *testing.T) int {
	t.Helper()
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("agent did not exit")
	}
	return p.cmd.ProcessState.ExitCode()
}

func TestBinary(t *testing.T) {
	bin := build(t)
	out, err := exec.Command(bin, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "test-1234" {
		t.Errorf("version: %q %v", out, err)
	}

	t.Run("refuses readable token", func(t *testing.T) {
		cmd := exec.Command(bin, "serve", "--control-addr", freeAddr(t), "--socks-addr", freeAddr(t), "--token-file", tokenFile(t, 0o644))
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "must be 0600") {
			t.Errorf("%v: %s", err, out)
		}
	})
	t.Run("refuses non-loopback", func(t *testing.T) {
		cmd := exec.Command(bin, "serve", "--control-addr", "0.0.0.0:0", "--token-file", tokenFile(t, 0o600))
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "loopback") {
			t.Errorf("%s", out)
		}
	})
	t.Run("shutdown request", func(t *testing.T) {
		p := startAgent(t, bin, "serve")
		info, err := p.client.Info(context.Background())
		if err != nil || info.Version != "test-1234" {
			t.Fatalf("info %+v %v", info, err)
		}
		if err := p.client.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t); code != 0 {
			t.Errorf("exit %d", code)
		}
	})
	t.Run("SIGTERM", func(t *testing.T) {
		p := startAgent(t, bin, "serve")
		p.cmd.Process.Signal(syscall.SIGHUP) // caught and dropped
		time.Sleep(100 * time.Millisecond)
		if err := p.client.Ping(context.Background()); err != nil {
			t.Fatalf("after SIGHUP: %v", err)
		}
		// Programs the agent starts must not inherit an ignored SIGHUP.
		res, err := p.client.Exec(context.Background(), agentapi.ExecRequest{Argv: []string{"grep", "SigIgn", "/proc/self/status"}})
		if err != nil {
			t.Fatal(err)
		}
		var ign uint64
		fmt.Sscanf(strings.TrimPrefix(res.Stdout, "SigIgn:"), "%x", &ign)
		if ign&(1<<(syscall.SIGHUP-1)) != 0 {
			t.Errorf("children ignore SIGHUP: %q", res.Stdout)
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.wait(t); code != 0 {
			t.Errorf("exit %d", code)
		}
		var started bool
		for len(p.logs) > 0 {
			if m := <-p.logs; m["msg"] == "agent_started" {
				started = true
			}
		}
		if !started {
			t.Error("no agent_started JSON log line on stderr")
		}
	})
	t.Run("init", func(t *testing.T) {
		p := startAgent(t, bin, "init", "--")
		info, err := p.client.Info(context.Background())
		if err != nil || info.PID == p.cmd.Process.Pid {
			t.Fatalf("serve should run as init's child: %+v %v", info, err)
		}
		// Programs are found on the default PATH although the agent has none.
		ws, err := p.client.DialShell(context.Background(), []string{"sh", "-c", "exit 3"}, 80, 24)
		if err != nil {
			t.Fatal(err)
		}
		var st agentapi.ShellStatus
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				break
			}
			if f, err := shellproto.Decode(msg); err == nil && f.Channel == agentapi.ChannelStatus {
				st, _ = f.Status()
			}
		}
		ws.Close()
		if st.ExitCode != 3 {
			t.Errorf("shell status %+v", st)
		}
		p.cmd.Process.Signal(syscall.SIGTERM) // forwarded to serve
		if code := p.wait(t); code != 0 {
			t.Errorf("exit %d", code)
		}
	})
}

// TestServeKeepsMonitorAwake checks that a served agent runs with the
// setting, whoever started it.
func TestServeKeepsMonitorAwake(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("monitor-token"), 0o600)
	cmd := exec.Command(bin, "serve", "--control-addr", "127.0.0.1:0", "--socks-addr", "127.0.0.1:0", "--token-file", tokenFile)
	cmd.Env = append(os.Environ(), "GODEBUG=madvdontneed=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	// Once it logs, it has re-executed.
	if !bufio.NewScanner(stderr).Scan() {
		t.Fatal("agent wrote nothing")
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if want := "GODEBUG=madvdontneed=1," + monitor.Setting; !strings.Contains(string(env), want+"\x00") {
		t.Errorf("environment lacks %q: %q", want, env)
	}
}
