package machine_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/machine/machinetest"
)

func newManager(t *testing.T, dir string, fb *machinetest.Backend) *machine.Manager {
	t.Helper()
	m, err := machine.New(t.Context(), machine.Config{
		DataDir:        dir,
		Logger:         slog.New(slog.DiscardHandler),
		Backends:       map[string]machine.Backend{"linux": fb},
		Unavailable:    map[string]string{"wsl": "WSL2 exists only on Windows"},
		DefaultBackend: "linux",
		Agents:         fb.Agents,
		HealthInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDefaultVMExistsFromFirstStart(t *testing.T) {
	m := newManager(t, t.TempDir(), machinetest.NewBackend())
	vm, err := m.Get(t.Context(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != machine.StateCreated || vm.SocksAddress() != "127.0.0.1:1080" || vm.AgentAddress() != "127.0.0.1:1025" || vm.Backend != "linux" {
		t.Fatalf("default VM = %+v", vm)
	}
}

func TestStateMachine(t *testing.T) {
	ctx := t.Context()
	fb := machinetest.NewBackend()
	m := newManager(t, t.TempDir(), fb)
	type step struct {
		op      func(context.Context, string) (machine.VM, error)
		name    string
		want    machine.State
		wantErr bool // a 409 StateError
	}
	steps := []step{
		{m.Pause, "pause created", machine.StateCreated, true},
		{m.Resume, "resume created", machine.StateCreated, true},
		{m.Stop, "stop created (harmless)", machine.StateCreated, false},
		{m.Start, "start", machine.StateRunning, false},
		{m.Start, "start again (harmless)", machine.StateRunning, false},
		{m.Resume, "resume running (harmless)", machine.StateRunning, false},
		{m.Pause, "pause", machine.StatePaused, false},
		{m.Pause, "pause again (harmless)", machine.StatePaused, false},
		{m.Start, "start paused", machine.StatePaused, true},
		{m.Resume, "resume", machine.StateRunning, false},
		{m.Stop, "stop", machine.StateStopped, false},
		{m.Stop, "stop again", machine.StateStopped, false},
		{m.Pause, "pause stopped", machine.StateStopped, true},
		{m.Start, "restart", machine.StateRunning, false},
		{m.Kill, "kill", machine.StateStopped, false},
		{m.Kill, "kill again", machine.StateStopped, false},
	}
	for _, s := range steps {
		_, err := s.op(ctx, "default")
		if s.wantErr {
			var se *errdefs.StateError
			if !errors.As(err, &se) || !errors.Is(err, errdefs.ErrConflict) || se.Current != string(s.want) {
				t.Fatalf("%s: err = %v, want a conflict naming state %s", s.name, err, s.want)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		vm, _ := m.Get(ctx, "default")
		if vm.State != s.want {
			t.Fatalf("%s: state = %s, want %s", s.name, vm.State, s.want)
		}
	}
	if got := fb.Guest("default"); got != machine.GuestStopped {
		t.Fatalf("guest = %s after kill", got)
	}
}

func TestCreateValidatesAndAllocatesPorts(t *testing.T) {
	ctx := t.Context()
	m := newManager(t, t.TempDir(), machinetest.NewBackend())
	for _, bad := range []string{"", "UPPER", "-lead", "a/b", "..", "x" + strings.Repeat("y", 32), "dot.name", "ünï", "con", "nul", "com1", "lpt9"} {
		if _, err := m.Create(ctx, machine.CreateOptions{Name: bad}); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("Create(%q) = %v, want invalid", bad, err)
		}
	}
	if _, err := m.Create(ctx, machine.CreateOptions{Name: "ok", Backend: "hyperv"}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("unknown backend: %v", err)
	}
	a, err := m.Create(ctx, machine.CreateOptions{Name: "work", Backend: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Create(ctx, machine.CreateOptions{Name: "home", Backend: "wsl"})
	if err != nil {
		t.Fatal(err)
	}
	ports := map[int]bool{1025: true, 1080: true}
	for _, p := range []int{a.AgentPort, a.SocksPort, b.AgentPort, b.SocksPort} {
		if ports[p] || p == 0 {
			t.Fatalf("port %d reused: %+v %+v", p, a, b)
		}
		ports[p] = true
	}
	if _, err := m.Create(ctx, machine.CreateOptions{Name: "work"}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	// A backend that cannot run here: created honestly, start says why.
	if _, err := m.Start(ctx, "home"); !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "only on Windows") {
		t.Fatalf("start on unavailable backend: %v", err)
	}
}

func TestRecordsSurviveRestart(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	fb := machinetest.NewBackend()
	m := newManager(t, dir, fb)
	work, err := m.Create(ctx, machine.CreateOptions{Name: "work"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Pause(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	// The guest of "work" dies while no daemon runs.
	fb.SetGuest("work", machine.GuestStopped)

	m2 := newManager(t, dir, fb)
	got, err := m2.Get(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	if got.AgentPort != work.AgentPort || got.SocksPort != work.SocksPort {
		t.Fatalf("ports not remembered: %+v vs %+v", got, work)
	}
	if got.State != machine.StateError || !strings.Contains(got.Reason, "while the daemon was not running") {
		t.Fatalf("dead guest re-attached as %s (%q)", got.State, got.Reason)
	}
	if d, _ := m2.Get(ctx, "default"); d.State != machine.StatePaused {
		t.Fatalf("paused guest re-attached as %s", d.State)
	}
	// Start recovers the errored VM.
	if vm, err := m2.Start(ctx, "work"); err != nil || vm.State != machine.StateRunning {
		t.Fatalf("recover: %+v %v", vm, err)
	}
}

func TestTornWriteLeavesOldRecord(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	m := newManager(t, dir, machinetest.NewBackend())
	if _, err := m.Create(ctx, machine.CreateOptions{Name: "work"}); err != nil {
		t.Fatal(err)
	}
	vmDir := filepath.Join(dir, "vms", "work")
	// A crash between creating the temporary file and renaming it leaves a
	// stray partial temp file: the record must still load, unchanged.
	if err := os.WriteFile(filepath.Join(vmDir, ".vm.json.tmp-123"), []byte(`{"name":"work","sta`), 0o600); err != nil {
		t.Fatal(err)
	}
	// A directory whose record was never written is skipped.
	if err := os.MkdirAll(filepath.Join(dir, "vms", "half"), 0o700); err != nil {
		t.Fatal(err)
	}
	m2 := newManager(t, dir, machinetest.NewBackend())
	if vm, err := m2.Get(ctx, "work"); err != nil || vm.State != machine.StateCreated {
		t.Fatalf("after torn write: %+v %v", vm, err)
	}
	if _, err := m2.Get(ctx, "half"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("half-created VM loaded: %v", err)
	}
	fi, err := os.Stat(filepath.Join(vmDir, "vm.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("record mode: %v %v", fi, err)
	}
	fi, err = os.Stat(filepath.Join(vmDir, "token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token mode: %v %v", fi, err)
	}
}

func TestFailedStartKeepsStateOnPrecondition(t *testing.T) {
	ctx := t.Context()
	fb := machinetest.NewBackend()
	m := newManager(t, t.TempDir(), fb)
	fb.Fail("start", fmt.Errorf("127.0.0.1:1080 is taken: %w", errdefs.ErrPortInUse))
	if _, err := m.Start(ctx, "default"); !errors.Is(err, errdefs.ErrPortInUse) {
		t.Fatalf("start: %v", err)
	}
	if vm, _ := m.Get(ctx, "default"); vm.State != machine.StateCreated {
		t.Fatalf("state after refused start: %s", vm.State)
	}
	fb.Fail("start", errors.New("agent did not answer"))
	if _, err := m.Start(ctx, "default"); err == nil {
		t.Fatal("start succeeded")
	}
	if vm, _ := m.Get(ctx, "default"); vm.State != machine.StateError || !strings.Contains(vm.Reason, "agent did not answer") {
		t.Fatalf("state after failed start: %+v", vm)
	}
	fb.Fail("start", nil)
	if vm, err := m.Start(ctx, "default"); err != nil || vm.State != machine.StateRunning {
		t.Fatalf("recover: %+v %v", vm, err)
	}
}

func TestHealthLoopReportsDeadAgent(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fb := machinetest.NewBackend()
	m := newManager(t, t.TempDir(), fb)
	events, err := m.Events().Subscribe(ctx, m.Events().LastID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	defer wg.Wait()
	defer cancel()
	fb.SetGuest("default", machine.GuestStopped)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Type == machine.EventVMState && e.State == string(machine.StateError) {
				if !strings.Contains(e.Reason, "stopped unexpectedly") {
					t.Fatalf("reason = %q", e.Reason)
				}
				return
			}
		case <-deadline:
			t.Fatal("no error event for a dead guest")
		}
	}
}

func TestExecAndDelete(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	fb := machinetest.NewBackend()
	m := newManager(t, dir, fb)
	if _, err := m.Exec(ctx, "default", agentapi.ExecRequest{Argv: []string{"echo", "hi"}}); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("exec in created VM: %v", err)
	}
	if _, err := m.Start(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	res, err := m.Exec(ctx, "default", agentapi.ExecRequest{Argv: []string{"echo", "hi"}})
	if err != nil || res.Stdout != "hi\n" {
		t.Fatalf("exec: %+v %v", res, err)
	}
	if err := m.Delete(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "vms", "default")); !os.IsNotExist(err) {
		t.Fatalf("data left after delete: %v", err)
	}
	if _, err := m.Get(ctx, "default"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := m.Delete(ctx, "default"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestConcurrentOperationsSerialize(t *testing.T) {
	ctx := t.Context()
	m := newManager(t, t.TempDir(), machinetest.NewBackend())
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := m.Start(ctx, "default")
			if err != nil && !errors.Is(err, errdefs.ErrConflict) {
				t.Errorf("start: %v", err)
			}
		})
	}
	wg.Wait()
	if vm, _ := m.Get(ctx, "default"); vm.State != machine.StateRunning {
		t.Fatalf("state = %s", vm.State)
	}
}

type fakeProfiles map[string]string

func (p fakeProfiles) Config(_ context.Context, name string) ([]byte, error) {
	c, ok := p[name]
	if !ok {
		return nil, fmt.Errorf("profile %s: %w", name, errdefs.ErrNotFound)
	}
	return []byte(c), nil
}

func (p fakeProfiles) Credentials(context.Context, string) (string, string, error) {
	return "user", "secret", nil
}

// newVPNManager is a manager whose profile store holds "work" and whose
// health loop never comes round on its own.
func newVPNManager(ctx context.Context, t *testing.T, fb *machinetest.Backend) *machine.Manager {
	t.Helper()
	m, err := machine.New(ctx, machine.Config{
		DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		Backends: map[string]machine.Backend{"linux": fb}, DefaultBackend: "linux",
		Agents: fb.Agents, Profiles: fakeProfiles{"work": "client\nremote vpn.example 1194\n"},
		HealthInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVPNConnectRemembersProfileAndEmitsEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fb := machinetest.NewBackend()
	m := newVPNManager(ctx, t, fb)
	events, _ := m.Events().Subscribe(ctx, m.Events().LastID())
	if _, err := m.ConnectVPN(ctx, "default", "work"); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("connect in a stopped VM: %v", err)
	}
	if st, err := m.VPNStatus(ctx, "default"); err != nil || st.State != agentapi.VPNDisconnected {
		t.Fatalf("status of a stopped VM: %+v %v", st, err)
	}
	if _, err := m.Start(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ConnectVPN(ctx, "default", "home"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("unknown profile: %v", err)
	}
	st, err := m.ConnectVPN(ctx, "default", "work")
	if err != nil || st.State != agentapi.VPNConnected {
		t.Fatalf("connect: %+v %v", st, err)
	}
	wantVPNEvent(t, events, agentapi.VPNConnected)

	// The agent reconnects on its own: the watcher turns it into events.
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	defer wg.Wait()
	defer cancel()
	fb.SetVPN("default", agentapi.VPNStatus{State: agentapi.VPNReconnecting, Profile: "work", Retries: 1})
	wantVPNEvent(t, events, agentapi.VPNReconnecting)
	// It came from the agent's long poll, not from polling.
	if fb.VPNWatches() == 0 {
		t.Fatal("the change was not seen through VPNWatch")
	}
	fb.SetVPN("default", agentapi.VPNStatus{State: agentapi.VPNConnected, Profile: "work"})
	wantVPNEvent(t, events, agentapi.VPNConnected)

	// Stop ends the tunnel; start reconnects the remembered profile.
	if _, err := m.Stop(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	wantVPNEvent(t, events, agentapi.VPNDisconnected)
	if vm, _ := m.Get(ctx, "default"); vm.VPNProfile != "work" {
		t.Fatalf("profile not remembered: %+v", vm)
	}
	if _, err := m.Start(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	wantVPNEvent(t, events, agentapi.VPNConnected)
	if st, err := m.DisconnectVPN(ctx, "default"); err != nil || st.State != agentapi.VPNDisconnected {
		t.Fatalf("disconnect: %+v %v", st, err)
	}
	if vm, _ := m.Get(ctx, "default"); vm.VPNProfile != "" {
		t.Fatalf("profile still selected after disconnect: %+v", vm)
	}
}

func wantVPNEvent(t *testing.T, events <-chan machine.Event, want agentapi.VPNState) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Type == machine.EventVPNState && e.State == string(want) {
				return
			}
		case <-deadline:
			t.Fatalf("no vpn.state %s event", want)
		}
	}
}

// A tunnel selected while the manager runs is followed at once, not at
// the watcher's next round: its first change is an event without delay.
func TestVPNSelectedIsFollowedAtOnce(t *testing.T) {
	defer machine.SetVPNReconcileInterval(time.Hour)()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fb := machinetest.NewBackend()
	m := newVPNManager(ctx, t, fb)
	if _, err := m.Start(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	defer wg.Wait()
	defer cancel()
	// The watcher's first round saw no tunnel; the next is an hour away.
	for machine.VPNRounds(m) == 0 {
		time.Sleep(time.Millisecond)
	}
	events, _ := m.Events().Subscribe(ctx, m.Events().LastID())
	if _, err := m.ConnectVPN(ctx, "default", "work"); err != nil {
		t.Fatal(err)
	}
	wantVPNEvent(t, events, agentapi.VPNConnected)
	fb.SetVPN("default", agentapi.VPNStatus{State: agentapi.VPNReconnecting, Profile: "work", Retries: 1})
	wantVPNEvent(t, events, agentapi.VPNReconnecting)
}
