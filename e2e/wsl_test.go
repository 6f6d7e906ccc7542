//go:build e2e && linux

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/errdefs"
)

// wslEnv plugs the wsl.exe emulator into a daemon, with its own state.
func wslEnv(t *testing.T, bin string, extra ...string) []string {
	emu := filepath.Join(bin, "wslemu")
	if _, err := os.Stat(emu); err != nil {
		t.Fatalf("wsl.exe emulator missing: run `make e2e` (it builds %s)", emu)
	}
	return append([]string{
		"MICROVM_WSL_EXE=" + emu,
		"MICROVM_WSLEMU_STATE=" + t.TempDir(),
	}, extra...)
}

// registeredDistros lists what the emulator has registered, as `wsl -l -q`.
func registeredDistros(t *testing.T, env []string) []string {
	t.Helper()
	var exe string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "MICROVM_WSL_EXE="); ok {
			exe = v
		}
	}
	cmd := exec.Command(exe, "-l", "-q")
	cmd.Env = append(append(os.Environ(), env...), "WSL_UTF8=1")
	out, err := cmd.Output()
	if err != nil {
		// wsl.exe fails -l when no distribution is registered.
		return nil
	}
	var names []string
	for _, l := range strings.Split(strings.ReplaceAll(string(out), "\r", ""), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	return names
}

// TestWSLGuestLifecycle runs the WSL2 backend through the daemon against
// the wsl.exe emulator, whose distributions run the real guest image and
// agent.
func TestWSLGuestLifecycle(t *testing.T) {
	bin := binDir(t)
	dataDir := t.TempDir()
	env := wslEnv(t, bin)
	d := startDaemon(t, bin, dataDir, env...)
	c := newClient(t, d)
	ctx := testContext(t)

	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !backendAvailable(info, "wsl") {
		t.Fatalf("wsl backend unavailable: %+v", info.Backends)
	}
	const name = "e2e-wsl"
	if _, err := c.CreateVM(ctx, name, "wsl"); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	vm, err := c.StartVM(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first start (import and provisioning): %v", time.Since(began).Round(time.Millisecond))
	if vm.State != "running" || vm.Backend != "wsl" {
		t.Fatalf("started: %+v", vm)
	}
	if got := registeredDistros(t, env); len(got) != 1 || !strings.EqualFold(got[0], "microvm-"+name) {
		t.Fatalf("registered distros: %q", got)
	}
	if res := mustExec(t, c, name, "cat", "/etc/os-release"); !strings.Contains(res.Stdout, "Debian") {
		t.Fatalf("os-release: %q", res.Stdout)
	}
	if res := mustExec(t, c, name, "cat", "/etc/wsl.conf"); !strings.Contains(res.Stdout, "automount") {
		t.Fatalf("wsl.conf not provisioned: %q", res.Stdout)
	}

	o := startOrigin(t)
	if got := socksGet(t, vm.SocksAddress, o.URL+"/hello"); got != "hello from origin\n" {
		t.Fatalf("curl through SOCKS5: %q", got)
	}

	stream := openSocksStream(t, vm.SocksAddress, o.URL+"/stream")
	pauseStallsStream(t, c, name, stream)
	resumeRestartsStream(t, c, name, stream)

	d.kill9()
	d.start()
	c = newClient(t, d)
	if vm, err = c.GetVM(ctx, name); err != nil || vm.State != "running" {
		t.Fatalf("after daemon restart: %+v %v", vm, err)
	}
	if !stream.flowing(5 * time.Second) {
		t.Fatal("SOCKS connection stalled across the daemon restart")
	}
	mustExec(t, c, name, "true")

	if vm, err = c.StopVM(ctx, name); err != nil || vm.State != "stopped" {
		t.Fatalf("stop: %+v %v", vm, err)
	}
	if err := c.DeleteVM(ctx, name); err != nil {
		t.Fatal(err)
	}
	if got := registeredDistros(t, env); len(got) != 0 {
		t.Fatalf("distros left registered after delete: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "vms", name)); !os.IsNotExist(err) {
		t.Fatalf("VM data left after delete: %v", err)
	}
}

// TestWSLHungExecutable checks that a wsl.exe that never answers turns into
// a timeout problem instead of a hung API.
func TestWSLHungExecutable(t *testing.T) {
	bin := binDir(t)
	d := startDaemon(t, bin, t.TempDir(), wslEnv(t, bin, "MICROVM_WSLEMU_FAULT=stall")...)
	c := newClient(t, d)
	ctx := testContext(t)
	if _, err := c.CreateVM(ctx, "hung", "wsl"); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err := c.StartVM(ctx, "hung")
	took := time.Since(began)
	if !errors.Is(err, errdefs.ErrTimeout) {
		t.Fatalf("start with a hung wsl.exe: %v, want a timeout", err)
	}
	if took > 2*time.Minute {
		t.Fatalf("start took %v", took)
	}
	t.Logf("hung wsl.exe answered with %v after %v", err, took.Round(time.Millisecond))
	// The API itself stays responsive.
	if _, err := c.GetVM(ctx, "hung"); err != nil {
		t.Fatal(err)
	}
	// Deleting needs wsl.exe too: give the daemon an answering one, so
	// the harness can remove the VM.
	d.stop()
	d.env = wslEnv(t, bin)
	d.start()
}
