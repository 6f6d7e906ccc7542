//go:build e2e && linux

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
	"github.com/velocitty/microvm/errdefs"
)

// TestLinuxGuestLifecycle walks a guest through its whole life on the
// Linux sandbox backend, driving the daemon through the Go client and curl
// only, and checks that nothing is left behind.
func TestLinuxGuestLifecycle(t *testing.T) {
	bin := binDir(t)
	dataDir := t.TempDir()
	d := startDaemon(t, bin, dataDir)
	c := newClient(t, d)
	ctx := testContext(t)

	if code, body := d.curl("GET", "/v1/health", ""); code != 200 {
		t.Fatalf("health: %d %s", code, body)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !backendAvailable(info, "linux") {
		t.Fatalf("linux backend unavailable: %+v", info.Backends)
	}

	const name = "e2e-linux"
	vm, err := c.CreateVM(ctx, name, "linux")
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != "created" {
		t.Fatalf("created VM is %s", vm.State)
	}
	began := time.Now()
	if vm, err = c.StartVM(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Logf("first start (unpacking the image): %v", time.Since(began).Round(time.Millisecond))
	if vm.State != "running" {
		t.Fatalf("started VM is %s (%s)", vm.State, vm.Reason)
	}

	// The guest is the image, not the host: Debian, our agent as PID 1's
	// program, its own hostname.
	res := mustExec(t, c, name, "cat", "/etc/os-release")
	if !strings.Contains(res.Stdout, "Debian") {
		t.Fatalf("os-release: %q", res.Stdout)
	}
	if res := mustExec(t, c, name, "cat", "/proc/1/cmdline"); !strings.Contains(res.Stdout, "microvm-agent") {
		t.Fatalf("PID 1 in the guest is %q, not the agent", res.Stdout)
	}
	if res := mustExec(t, c, name, "hostname"); strings.TrimSpace(res.Stdout) == hostHostname(t) {
		t.Fatalf("guest shares the host's hostname %q", res.Stdout)
	}
	if res, err := c.Exec(ctx, name, api.ExecRequest{Argv: []string{"sh", "-c", "exit 7"}}); err != nil || res.ExitCode != 7 {
		t.Fatalf("exit code: %+v %v", res, err)
	}

	// SOCKS5 through the guest reaches a server on the host's loopback,
	// since the guest shares the host network as WSL2 does.
	o := startOrigin(t)
	if got := socksGet(t, vm.SocksAddress, o.URL+"/hello"); got != "hello from origin\n" {
		t.Fatalf("curl through SOCKS5: %q", got)
	}

	// Pause freezes every guest process: an open download stalls, and
	// continues after resume.
	stream := openSocksStream(t, vm.SocksAddress, o.URL+"/stream")
	pauseStallsStream(t, c, name, stream)
	if _, err := c.Exec(ctx, name, api.ExecRequest{Argv: []string{"true"}}); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("exec in a paused VM: %v, want a conflict", err)
	}
	if code, body := d.curl("POST", "/v1/vms/"+name+"/start", ""); code != 409 || !strings.Contains(body, `"code":"invalid_state"`) {
		t.Fatalf("start of a paused VM: %d %s", code, body)
	}
	resumeRestartsStream(t, c, name, stream)

	// A crashed daemon: the guest and the open SOCKS connection survive,
	// and a new daemon re-attaches and reports the truth.
	d.kill9()
	if !stream.flowing(5 * time.Second) {
		t.Fatal("SOCKS connection stalled when the daemon died")
	}
	d.start()
	c = newClient(t, d)
	if vm, err = c.GetVM(ctx, name); err != nil || vm.State != "running" {
		t.Fatalf("after daemon restart: %+v %v", vm, err)
	}
	if !stream.flowing(5 * time.Second) {
		t.Fatal("SOCKS connection stalled after the daemon restarted")
	}
	mustExec(t, c, name, "true")

	// Restart timings, with the image already unpacked.
	began = time.Now()
	if _, err := c.StopVM(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop: %v", time.Since(began).Round(time.Millisecond))
	began = time.Now()
	if _, err := c.StartVM(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Logf("start with the image unpacked: %v", time.Since(began).Round(time.Millisecond))

	mountNS := guestMountNS(t, filepath.Join(dataDir, "vms", name))
	if len(guestPIDs(mountNS)) == 0 {
		t.Fatal("found no process of the running guest: the leak check below would prove nothing")
	}
	if vm, err = c.StopVM(ctx, name); err != nil || vm.State != "stopped" {
		t.Fatalf("stop: %+v %v", vm, err)
	}
	if _, err := exec.Command("curl", "-sS", "--max-time", "3", "--socks5-hostname", vm.SocksAddress, o.URL+"/hello").Output(); err == nil {
		t.Fatal("SOCKS5 still answers after stop")
	}
	if err := c.DeleteVM(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVM(ctx, name); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	assertNothingLeft(t, filepath.Join(dataDir, "vms", name), mountNS)
}

func newClient(t *testing.T, d *daemon) *client.Client {
	t.Helper()
	c, err := client.New(d.URL, d.Token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testContext bounds a test's calls: five minutes beyond the time a load
// test keeps its load up (MICROVM_SOAK).
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute+soakFor(t))
	t.Cleanup(cancel)
	return ctx
}

func backendAvailable(info api.Info, name string) bool {
	for _, b := range info.Backends {
		if string(b.Name) == name {
			return b.Available
		}
	}
	return false
}

func mustExec(t *testing.T, c *client.Client, vm string, argv ...string) api.ExecResult {
	t.Helper()
	res, err := c.Exec(t.Context(), vm, api.ExecRequest{Argv: argv})
	if err != nil {
		t.Fatalf("exec %v: %v", argv, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exec %v: exit %d: %s", argv, res.ExitCode, res.Stderr)
	}
	return res
}

func hostHostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// assertNothingLeft checks that a deleted guest left no mount, no cgroup,
// no process and no file behind.
func assertNothingLeft(t *testing.T, vmDir, mountNS string) {
	t.Helper()
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), vmDir) {
		t.Errorf("mounts left under %s:\n%s", vmDir, grepLines(string(mounts), vmDir))
	}
	if _, err := os.Stat(vmDir); !os.IsNotExist(err) {
		t.Errorf("VM data dir left: %v", err)
	}
	if pids := guestPIDs(mountNS); len(pids) > 0 {
		t.Errorf("processes still run in the guest's mount namespace %s: %v", mountNS, pids)
	}
	cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/microvm*/*")
	more, _ := filepath.Glob("/sys/fs/cgroup/microvm*/*")
	for _, cg := range append(cgroups, more...) {
		if strings.Contains(cg, filepath.Base(vmDir)) {
			t.Errorf("cgroup left: %s", cg)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// guestMountNS names the mount namespace of a running Linux guest, from the
// PID its backend records.
func guestMountNS(t *testing.T, vmDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vmDir, "box.json"))
	if err != nil {
		t.Fatalf("guest not running: %v", err)
	}
	var box struct {
		Box struct {
			PID int `json:"pid"`
		} `json:"box"`
	}
	if err := json.Unmarshal(b, &box); err != nil || box.Box.PID == 0 {
		t.Fatalf("box.json: %s %v", b, err)
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", box.Box.PID))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// guestPIDs lists the processes in a mount namespace.
func guestPIDs(mountNS string) []int {
	var pids []int
	links, _ := filepath.Glob("/proc/[0-9]*/ns/mnt")
	for _, l := range links {
		if ns, err := os.Readlink(l); err == nil && ns == mountNS {
			var pid int
			fmt.Sscanf(strings.Split(l, "/")[2], "%d", &pid)
			pids = append(pids, pid)
		}
	}
	return pids
}
