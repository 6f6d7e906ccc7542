package wsl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/wsl/internal/emutest"
)

// Environment of the integration tests: a real guest image and agent
// can replace the test rootfs and the stand-in agent.
const (
	envTestImage = "MICROVM_TEST_IMAGE"
	envTestAgent = "MICROVM_TEST_AGENT"
)

type emuEnv struct {
	exe, image, agentV1, agentV2 string
}

// setupEmu prepares the emulator, an image and two agent builds, and
// points the emulator's state at a fresh directory.
func setupEmu(t *testing.T, faults ...string) emuEnv {
	t.Helper()
	emutest.RequireRoot(t)
	bin := testBin
	env := emuEnv{exe: emutest.Emulator(t, bin)}
	if env.image = os.Getenv(envTestImage); env.image == "" {
		env.image = filepath.Join(t.TempDir(), "rootfs.tar")
		emutest.Rootfs(t, env.image, nil)
	}
	if a := os.Getenv(envTestAgent); a != "" {
		env.agentV1, env.agentV2 = a, a
	} else {
		const pkg = "github.com/velocitty/microvm/wsl/internal/testagent"
		env.agentV1 = emutest.Build(t, bin, "agent-v1", pkg, "-ldflags=-X main.version=v1")
		env.agentV2 = emutest.Build(t, bin, "agent-v2", pkg, "-ldflags=-X main.version=v2")
	}
	t.Setenv("MICROVM_WSLEMU_STATE", t.TempDir())
	t.Setenv("MICROVM_WSLEMU_IDLE_MS", "1000")
	t.Setenv("MICROVM_WSLEMU_FAULT", strings.Join(faults, ""))
	return env
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func testSpec(t *testing.T, name string) machine.Spec {
	return machine.Spec{Name: name, Dir: t.TempDir(), AgentPort: freePort(t), SocksPort: freePort(t), Token: "tok-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
}

func agentVersion(t *testing.T, s machine.Spec) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(s.AgentPort)+agentapi.PathInfo, nil)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("agent info: %v", err)
	}
	defer resp.Body.Close()
	var info agentapi.Info
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatalf("agent info: %v", err)
	}
	return info.Version
}

func wantState(t *testing.T, b *Backend, s machine.Spec, want machine.GuestState) {
	t.Helper()
	st, err := b.Status(context.Background(), s)
	if err != nil || st.State != want {
		t.Fatalf("Status = %+v, %v; want %s", st, err, want)
	}
}

func TestBackendLifecycle(t *testing.T) {
	env := setupEmu(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b := NewBackend(BackendConfig{Exe: env.exe, ImagePath: env.image, AgentPath: env.agentV1, Timeout: 30 * time.Second})
	if err := b.Available(ctx); err != nil {
		t.Fatalf("Available: %v", err)
	}
	s := testSpec(t, "itest")
	name := DistroName(s.Name)
	t.Cleanup(func() { b.Delete(context.Background(), s) })

	wantState(t, b, s, machine.GuestStopped)
	if err := b.Start(ctx, s); err != nil {
		t.Fatalf("Start: %v", err)
	}
	wantState(t, b, s, machine.GuestRunning)
	if err := agentAt(s.AgentPort, s.Token).Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := agentAt(s.AgentPort, "wrong").Ping(ctx); err == nil {
		t.Error("the agent accepted a wrong token")
	}

	// The token is provisioned 0600; exec runs argv without a shell.
	out, _, err := b.Runner().Exec(ctx, name, "root", nil, "/bin/cat", GuestTokenPath)
	if err != nil || string(out) != s.Token {
		t.Fatalf("token in guest = %q, %v", out, err)
	}
	if fi, err := os.Stat(filepath.Join(s.Dir, diskDirName, "rootfs", GuestTokenPath)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode: %v %v", fi.Mode(), err)
	}
	out, _, err = b.Runner().Exec(ctx, name, "root", strings.NewReader("in"), "/bin/sh", "-c", `cat; printf '|%s' "$@"`, "sh", "$HOME", "a b;c")
	if err != nil || string(out) != "in|$HOME|a b;c" {
		t.Errorf("exec with stdin = %q, %v", out, err)
	}

	// The keep-alive wsl.exe is detached: a session of its own.
	b.mu.Lock()
	ka := b.alive[name]
	b.mu.Unlock()
	if sid, _ := procSession(ka.cmd.Process.Pid); sid != ka.cmd.Process.Pid {
		t.Errorf("keep-alive session = %d, want its own (%d)", sid, ka.cmd.Process.Pid)
	}

	// Start again is harmless.
	if err := b.Start(ctx, s); err != nil {
		t.Fatalf("second Start: %v", err)
	}

	// Pause stops every guest process; the agent stops answering.
	if err := b.Pause(ctx, s); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if err := agentAt(s.AgentPort, s.Token).Ping(ctx); err == nil {
		t.Error("paused agent answered")
	}
	wantState(t, b, s, machine.GuestPaused)
	if err := b.Resume(ctx, s); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	wantState(t, b, s, machine.GuestRunning)

	// A new backend (a restarted daemon) re-attaches from wsl -l -v and
	// the agent's ping, and can stop the guest it did not start.
	b2 := NewBackend(BackendConfig{Exe: env.exe, ImagePath: env.image, AgentPath: env.agentV1})
	wantState(t, b2, s, machine.GuestRunning)
	if err := b2.Stop(ctx, s); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	wantState(t, b2, s, machine.GuestStopped)
	if err := b2.Stop(ctx, s); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	select {
	case <-ka.done:
	case <-ctx.Done():
		t.Fatal("keep-alive wsl.exe still running after Stop")
	}
	if err := b.Pause(ctx, s); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("Pause of a stopped guest = %v, want conflict", err)
	}

	// A new agent build is deployed into the existing guest, also over a
	// running old one.
	if env.agentV1 != env.agentV2 {
		if err := b.Start(ctx, s); err != nil {
			t.Fatalf("restart: %v", err)
		}
		if v := agentVersion(t, s); v != "v1" {
			t.Errorf("agent version = %q, want v1", v)
		}
		b3 := NewBackend(BackendConfig{Exe: env.exe, ImagePath: env.image, AgentPath: env.agentV2})
		if err := b3.Start(ctx, s); err != nil {
			t.Fatalf("Start with a new agent: %v", err)
		}
		if v := agentVersion(t, s); v != "v2" {
			t.Errorf("agent version = %q, want v2 redeployed", v)
		}
		// A running guest whose agent has another token is restarted.
		s2 := s
		s2.Token = "rotated"
		if err := b3.Start(ctx, s2); err != nil {
			t.Fatalf("Start with a new token: %v", err)
		}
		if err := agentAt(s.AgentPort, "rotated").Ping(ctx); err != nil {
			t.Errorf("ping with the new token: %v", err)
		}
		if err := b3.Kill(ctx, s); err != nil {
			t.Fatalf("Kill: %v", err)
		}
		wantState(t, b3, s, machine.GuestStopped)
	}

	if err := b.Delete(ctx, s); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.Runner().Find(ctx, name); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("distribution still registered: %v", err)
	}
	if ents, _ := os.ReadDir(s.Dir); len(ents) != 0 {
		t.Errorf("VM directory not clean: %v", ents)
	}
	if err := b.Delete(ctx, s); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

func TestBackendHungWSL(t *testing.T) {
	env := setupEmu(t, "stall")
	b := NewBackend(BackendConfig{Exe: env.exe, ImagePath: env.image, AgentPath: env.agentV1, Timeout: time.Second})
	start := time.Now()
	err := b.Start(context.Background(), testSpec(t, "hung"))
	if !errors.Is(err, errdefs.ErrTimeout) {
		t.Fatalf("Start with a hung wsl.exe = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v", d)
	}
	if err := b.Available(context.Background()); !errors.Is(err, errdefs.ErrTimeout) {
		t.Errorf("Available = %v", err)
	}
}

func TestBackendAvailableFaults(t *testing.T) {
	for fault, class := range map[string]error{
		"not-installed":     errdefs.ErrUnavailable,
		"no-virtualization": errdefs.ErrUnavailable,
		"wsl1-only":         errdefs.ErrUnsupported,
	} {
		t.Run(fault, func(t *testing.T) {
			env := setupEmu(t, fault)
			b := NewBackend(BackendConfig{Exe: env.exe, ImagePath: env.image, AgentPath: env.agentV1})
			err := b.Available(context.Background())
			if !errors.Is(err, class) || !strings.Contains(err.Error(), "--install --no-distribution") {
				t.Errorf("Available = %v, want %v with a fix", err, class)
			}
		})
	}
}

func TestBackendImportFailureCleansUp(t *testing.T) {
	env := setupEmu(t)
	bad := filepath.Join(t.TempDir(), "bad.tar")
	emptyTar := make([]byte, 1024) // two zero blocks: a valid, empty archive
	if err := os.WriteFile(bad, emptyTar, 0o644); err != nil {
		t.Fatal(err)
	}
	b := NewBackend(BackendConfig{Exe: env.exe, ImagePath: bad, AgentPath: env.agentV1})
	s := testSpec(t, "bad")
	err := b.Start(context.Background(), s)
	var we *Error
	if !errors.Is(err, errdefs.ErrInvalid) || !errors.As(err, &we) || we.Code != CodeNotALinuxDistro {
		t.Fatalf("Start with an image that is no Linux tree = %v", err)
	}
	if _, err := b.Runner().Find(context.Background(), DistroName(s.Name)); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("failed import left a registration: %v", err)
	}
	if ents, _ := os.ReadDir(s.Dir); len(ents) != 0 {
		t.Errorf("failed import left files: %v", ents)
	}
}

// fakeDaemon plays a daemon that starts a guest from the spec in
// $WSLTEST_DAEMON and then waits to be killed.
func fakeDaemon() int {
	var cfg struct {
		Exe, Image, Agent string
		Spec              machine.Spec
	}
	if err := json.Unmarshal([]byte(os.Getenv("WSLTEST_DAEMON")), &cfg); err != nil {
		return 2
	}
	b := NewBackend(BackendConfig{Exe: cfg.Exe, ImagePath: cfg.Image, AgentPath: cfg.Agent})
	if err := b.Start(context.Background(), cfg.Spec); err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		return 1
	}
	os.Stdout.WriteString("started\n")
	for {
		time.Sleep(time.Hour) // until killed
	}
}

// TestBackendGuestOutlivesDaemon kills a daemon that started a guest and
// finds the guest still running from a new backend.
func TestBackendGuestOutlivesDaemon(t *testing.T) {
	env := setupEmu(t)
	s := testSpec(t, "orphan")
	cfg, _ := json.Marshal(map[string]any{"Exe": env.exe, "Image": env.image, "Agent": env.agentV1, "Spec": s})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "WSLTEST_DAEMON="+string(cfg))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := NewBackend(BackendConfig{Exe: env.exe, ImagePath: env.image, AgentPath: env.agentV1})
	t.Cleanup(func() { b.Delete(context.Background(), s) })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "started\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("daemon: %q", line)
	}
	cmd.Process.Kill()
	cmd.Wait()
	wantState(t, b, s, machine.GuestRunning)
	if err := b.Stop(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, s, machine.GuestStopped)
}

// procSession reads the session ID of pid from /proc.
func procSession(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return strconv.Atoi(f[3])
}
