package linuxvm

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/sandbox"
)

func TestAvailable(t *testing.T) {
	requireRoot(t)
	f := getFixtures(t)
	ctx := testCtx(t)
	if err := New(Config{ImagePath: f.image, AgentPath: f.agent}).Available(ctx); err != nil {
		t.Fatalf("Available: %v", err)
	}
	err := New(Config{ImagePath: "/nonexistent/guest.tar.gz", AgentPath: f.agent}).Available(ctx)
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "make guest-image") {
		t.Fatalf("Available without an image: %v, want ErrUnavailable naming make guest-image", err)
	}
}

func TestLifecycle(t *testing.T) {
	b, s := newTest(t, anyAgent)
	ctx := testCtx(t)

	wantState(t, b, s, machine.GuestStopped)
	if err := b.Start(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, s, machine.GuestRunning)
	if err := agentAt(s.AgentPort, s.Token).Ping(ctx); err != nil {
		t.Fatalf("agent after Start: %v", err)
	}
	if err := agentAt(s.AgentPort, "wrong").Ping(ctx); err == nil {
		t.Fatal("agent accepted a wrong token")
	}
	tok, err := os.Stat(filepath.Join(s.Dir, rootfsName, GuestTokenPath))
	if err != nil || tok.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v, want mode 0600", tok, err)
	}
	// Start again is harmless.
	if err := b.Start(ctx, s); err != nil {
		t.Fatalf("second Start: %v", err)
	}

	if err := b.Pause(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, s, machine.GuestPaused)
	if err := b.Resume(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, s, machine.GuestRunning)

	f, err := readBox(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, s, machine.GuestStopped)
	assertGone(t, s, f)
	if err := b.Stop(ctx, s); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := b.Pause(ctx, s); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("Pause when stopped: %v, want a conflict", err)
	}

	// A second start reuses the unpacked guest: what the guest wrote stays.
	marker := filepath.Join(s.Dir, rootfsName, "tmp-marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("rootfs unpacked again: %v", err)
	}
	f, err = readBox(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Kill(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, s, machine.GuestStopped)
	assertGone(t, s, f)

	if err := b.Start(ctx, s); err != nil {
		t.Fatal(err)
	}
	f, err = readBox(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	assertGone(t, s, f)
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("VM directory left after Delete: %v", err)
	}
}

// assertGone checks that nothing of a box is left.
func assertGone(t *testing.T, s machine.Spec, f boxFile) {
	t.Helper()
	if _, err := sandbox.Attach(f.Box); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("box still attachable: %v", err)
	}
	if _, err := os.Stat(f.Box.Cgroup); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup %s left: %v", f.Box.Cgroup, err)
	}
	if _, err := os.Stat(boxPath(s)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("box.json left: %v", err)
	}
	for _, port := range []int{s.AgentPort, s.SocksPort} {
		if c, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			t.Errorf("port %d still answers", port)
		}
	}
}

func TestStartRefusesTakenPort(t *testing.T) {
	b, s := newTest(t, anyAgent)
	ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(s.SocksPort))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = b.Start(testCtx(t), s)
	if !errors.Is(err, errdefs.ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(s.SocksPort)) {
		t.Fatalf("Start with the SOCKS port taken: %v, want ErrPortInUse naming %d", err, s.SocksPort)
	}
	if _, err := os.Stat(boxPath(s)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("box.json after a refused start: %v", err)
	}
	wantState(t, b, s, machine.GuestStopped)
}

func TestStartFailureShowsAgentLog(t *testing.T) {
	b, s := newTest(t, fakeAgent)
	s.Token = "exit-at-once"
	err := b.Start(testCtx(t), s)
	if err == nil || !strings.Contains(err.Error(), "told to exit at once") {
		t.Fatalf("Start with an agent that exits: %v, want the agent's log in the error", err)
	}
	if _, err := os.Stat(boxPath(s)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("box.json after a failed start: %v", err)
	}
	wantState(t, b, s, machine.GuestStopped)
}

func TestStopEscalatesToKill(t *testing.T) {
	b, s := newTest(t, fakeAgent)
	b.cfg.StopGrace = 200 * time.Millisecond
	s.Token = "stubborn"
	ctx := testCtx(t)
	if err := b.Start(ctx, s); err != nil {
		t.Fatal(err)
	}
	f, err := readBox(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(ctx, s); err != nil {
		t.Fatal(err)
	}
	assertGone(t, s, f)
}

func TestAgentRedeploy(t *testing.T) {
	b, s := newTest(t, fakeAgent)
	ctx := testCtx(t)
	if err := b.Start(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(ctx, s); err != nil {
		t.Fatal(err)
	}
	guest := filepath.Join(s.Dir, rootfsName, GuestAgentPath)
	if v := version(t, guest); v != "v1" {
		t.Fatalf("guest agent %q, want v1", v)
	}
	// A daemon shipping a newer agent replaces the guest's at start.
	b2 := New(Config{ImagePath: b.cfg.ImagePath, AgentPath: getFixtures(t).fakeV2, Logger: testLogger(t)})
	if err := b2.Start(ctx, s); err != nil {
		t.Fatal(err)
	}
	if v := version(t, guest); v != "v2" {
		t.Fatalf("guest agent %q after redeploy, want v2", v)
	}
	if err := b2.Stop(ctx, s); err != nil {
		t.Fatal(err)
	}
}

func version(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(path, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestReattach stands in for a daemon restart: a second Backend with no
// memory of the first finds the guest from box.json alone.
func TestReattach(t *testing.T) {
	b, s := newTest(t, anyAgent)
	ctx := testCtx(t)
	if err := b.Start(ctx, s); err != nil {
		t.Fatal(err)
	}
	b2 := New(Config{ImagePath: b.cfg.ImagePath, AgentPath: b.cfg.AgentPath, Logger: testLogger(t)})
	wantState(t, b2, s, machine.GuestRunning)
	if err := b2.Pause(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, s, machine.GuestPaused)
	// Stop thaws a paused guest so its agent can shut down.
	if err := b2.Stop(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantState(t, b, s, machine.GuestStopped)
}
