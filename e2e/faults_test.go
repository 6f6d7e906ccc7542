//go:build e2e && linux

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
	"github.com/velocitty/microvm/errdefs"
)

// faultProfile is a small profile the daemon accepts; host names the
// remote, so each write can be told apart by the summary it leaves.
func faultProfile(host string) string {
	return "client\ndev tun\nremote " + host + " 1194\nauth-user-pass\n" +
		"<ca>\n-----BEGIN CERTIFICATE-----\nbm90IGEgcmVhbCBjZXJ0aWZpY2F0ZQ==\n-----END CERTIFICATE-----\n</ca>\n"
}

// profileWriter writes the profiles it owns one after another and
// remembers, per name, the host of its last acknowledged write and of the
// write in flight.
type profileWriter struct {
	id      int
	seq     int // of the next write, so no host repeats across rounds
	mu      sync.Mutex
	acked   map[string]string
	pending map[string]string
}

func (w *profileWriter) run(ctx context.Context, c *client.Client, names int, acks *atomic.Int64) error {
	user, pass := "fault-user", "fault-pass"
	for ; ; w.seq++ {
		name := fmt.Sprintf("w%d-p%d", w.id, w.seq%names)
		host := fmt.Sprintf("w%d-s%d.example.net", w.id, w.seq)
		w.mu.Lock()
		_, tried := w.pending[name] // perhaps created by a write in flight at a kill
		w.pending[name] = host
		w.mu.Unlock()
		var err error
		if tried {
			_, err = c.PutProfile(ctx, name, api.PutVPNProfileRequest{Config: faultProfile(host), Username: &user, Password: &pass})
		} else {
			_, err = c.CreateProfile(ctx, api.CreateVPNProfileRequest{Name: name, Config: faultProfile(host), Username: &user, Password: &pass})
		}
		if err != nil {
			return fmt.Errorf("write profile %s: %w", name, err)
		}
		w.mu.Lock()
		w.acked[name] = host
		w.mu.Unlock()
		acks.Add(1)
	}
}

// TestFaultKillDuringProfileWrites kills the daemon with SIGKILL while
// several clients write profiles, restarts it on the same data dir, and
// checks that every acknowledged write is there whole (or was replaced by
// the write in flight), that no record is torn and no temporary file is
// left, round after round.
func TestFaultKillDuringProfileWrites(t *testing.T) {
	bin := binDir(t)
	dataDir := t.TempDir()
	d := startDaemon(t, bin, dataDir)
	const writers, names = 4, 5
	rounds := max(3, int(soakFor(t)/(3*time.Second)))
	ws := make([]*profileWriter, writers)
	for i := range ws {
		ws[i] = &profileWriter{id: i, acked: map[string]string{}, pending: map[string]string{}}
	}
	var totalAcks, tempsSeen int64
	for round := range rounds {
		// Kill at a different point of the burst each round.
		acks := killDuringBurst(t, d, ws, names, int64(10+17*round%40))
		totalAcks += acks
		tempsSeen += int64(len(profileTemps(t, dataDir)))

		d.start()
		c := newClient(t, d)
		for _, w := range ws {
			for name, host := range w.pending {
				checkProfileAfterCrash(t, c, name, w.acked[name], host)
			}
		}
		if left := profileTemps(t, dataDir); len(left) > 0 {
			t.Fatalf("round %d: temporary files left after restart: %v", round, left)
		}
		checkProfileFiles(t, dataDir)
	}
	observe(t, "%d rounds of %d concurrent writers killed with SIGKILL mid-burst: %d acknowledged writes, all intact after restart; %d temporary files found after the kills, none after restart",
		rounds, writers, totalAcks, tempsSeen)
}

// killDuringBurst runs the writers against d, kills d with SIGKILL once
// target writes were acknowledged, and returns how many were.
func killDuringBurst(t *testing.T, d *daemon, ws []*profileWriter, names int, target int64) int64 {
	t.Helper()
	c := newClient(t, d)
	ctx, cancel := context.WithCancel(t.Context())
	var acks atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	errs := make([]error, len(ws))
	for i, w := range ws {
		wg.Go(func() { errs[i] = w.run(ctx, c, names, &acks) })
	}
	waitFor(t, 30*time.Second, fmt.Sprintf("%d acknowledged writes", target), func() bool { return acks.Load() >= target })
	d.kill9()
	wg.Wait()
	for i, err := range errs {
		var ce *client.Error
		if err == nil || errors.Is(err, context.Canceled) || errors.As(err, &ce) {
			t.Fatalf("writer %d did not end by the daemon's death: %v", i, err)
		}
	}
	return acks.Load()
}

// checkProfileAfterCrash checks that profile name holds the last
// acknowledged write (acked, "" if none) or the one in flight (pending).
// A visible profile always has its credentials: a create writes them
// before the record, so a kill in between leaves no profile at all.
func checkProfileAfterCrash(t *testing.T, c *client.Client, name, acked, pending string) {
	t.Helper()
	p, err := c.GetProfile(t.Context(), name)
	if err != nil {
		if acked == "" && errors.Is(err, errdefs.ErrNotFound) {
			return // created in flight, never acknowledged
		}
		t.Fatalf("profile %s (acknowledged %q): %v", name, acked, err)
	}
	if len(p.Summary.Remotes) != 1 {
		t.Fatalf("profile %s is damaged: %+v", name, p)
	}
	if got := p.Summary.Remotes[0].Host; got != acked && got != pending {
		t.Fatalf("profile %s holds %q; acknowledged %q, in flight %q", name, got, acked, pending)
	}
	if !p.HasPassword || !p.HasUsername {
		t.Fatalf("profile %s is visible without its credentials (acknowledged %q): %+v", name, acked, p)
	}
}

// profileTemps lists leftovers of interrupted atomic writes in the
// profile store.
func profileTemps(t *testing.T, dataDir string) []string {
	t.Helper()
	var temps []string
	for _, sub := range []string{"profiles", "credentials"} {
		entries, err := os.ReadDir(filepath.Join(dataDir, "vpn", sub))
		if err != nil {
			t.Fatalf("read profile store: %v", err)
		}
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				temps = append(temps, filepath.Join(sub, e.Name()))
			}
		}
	}
	return temps
}

// checkProfileFiles parses every file of the profile store: a torn write
// would leave one that is not a whole JSON document of its profile.
func checkProfileFiles(t *testing.T, dataDir string) {
	t.Helper()
	for _, sub := range []string{"profiles", "credentials"} {
		dir := filepath.Join(dataDir, "vpn", sub)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("read profile store: %v", err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatalf("read %s/%s: %v", sub, e.Name(), err)
			}
			var rec struct {
				Name     string `json:"name"`
				Config   string `json:"config"`
				Password string `json:"password"`
			}
			if err := json.Unmarshal(data, &rec); err != nil {
				t.Fatalf("%s/%s does not parse (%d bytes): %v", sub, e.Name(), len(data), err)
			}
			whole := rec.Name+".json" == e.Name() && strings.Contains(rec.Config, "</ca>")
			if sub == "credentials" {
				whole = rec.Password != ""
			}
			if !whole {
				t.Fatalf("%s/%s is not a whole record: %d bytes", sub, e.Name(), len(data))
			}
		}
	}
}

// TestFaultPortTaken occupies a VM's SOCKS and then its agent port before
// it starts: the start fails with port_in_use naming the port and leaves
// nothing running, and succeeds once the port is free. A daemon told to
// listen on a taken port exits non-zero and says why.
func TestFaultPortTaken(t *testing.T) {
	bin := binDir(t)
	dataDir := t.TempDir()
	d := startDaemon(t, bin, dataDir)
	c := newClient(t, d)
	ctx := testContext(t)

	const name = "fault-port"
	vm, err := c.CreateVM(ctx, name, "linux")
	if err != nil {
		t.Fatal(err)
	}
	vmDir := filepath.Join(dataDir, "vms", name)
	for _, addr := range []string{vm.SocksAddress, vm.AgentAddress} {
		ln, err := net.Listen("tcp4", addr)
		if err != nil {
			t.Fatalf("occupy %s: %v", addr, err)
		}
		began := time.Now()
		_, err = c.StartVM(ctx, name)
		took := time.Since(began)
		var ce *client.Error
		_, port, _ := net.SplitHostPort(addr)
		if !errors.As(err, &ce) || ce.Status != 409 || ce.Code != "port_in_use" || !strings.Contains(ce.Detail, ":"+port) {
			ln.Close()
			t.Fatalf("start with %s taken: %v, want 409 port_in_use naming the port", addr, err)
		}
		if got, err := c.GetVM(ctx, name); err != nil || got.State != "created" {
			t.Fatalf("after the refused start: %+v %v", got, err)
		}
		if pids := agentPIDs(vm.AgentAddress); len(pids) > 0 {
			t.Fatalf("agent processes of the refused VM run: %v", pids)
		}
		if _, err := os.Stat(filepath.Join(vmDir, "box.json")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the refused VM left a box record: %v", err)
		}
		ln.Close()
		observe(t, "start with %s taken refused in %v: %s", addr, took.Round(time.Millisecond), ce.Detail)
	}
	if vm, err = c.StartVM(ctx, name); err != nil || vm.State != "running" {
		t.Fatalf("start once the ports are free: %+v %v", vm, err)
	}
	mustExec(t, c, name, "true")
	if len(agentPIDs(vm.AgentAddress)) == 0 {
		t.Fatal("found no process of the running guest: the checks above proved nothing")
	}
	if _, err := c.StopVM(ctx, name); err != nil {
		t.Fatal(err)
	}

	// The daemon's own port.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	began := time.Now()
	out, err := exec.CommandContext(lctx, filepath.Join(bin, "microvm-api"), "serve", "--listen", ln.Addr().String(), "--data-dir", t.TempDir()).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() <= 0 || !strings.Contains(string(out), ln.Addr().String()) || !strings.Contains(string(out), "address already in use") {
		t.Fatalf("daemon on a taken port: %v (exit %v), output:\n%s", err, ee, out)
	}
	observe(t, "daemon on a taken --listen port exits %d after %v: %s", ee.ExitCode(), time.Since(began).Round(time.Millisecond), lastLine(string(out)))
}

// agentPIDs lists the agent processes (the guest's init and the agent
// it serves with) that serve the control API at addr.
func agentPIDs(addr string) []int {
	var pids []int
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range cmdlines {
		raw, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(raw), "\x00--control-addr\x00"+addr+"\x00") {
			var pid int
			fmt.Sscanf(strings.Split(f, "/")[2], "%d", &pid)
			pids = append(pids, pid)
		}
	}
	return pids
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestFaultDiskFull runs the daemon on a small filesystem and fills it:
// creating and replacing profiles and creating a VM fail with a clear
// insufficient_storage problem, the daemon keeps serving, the profile
// stored before is intact, and once space is freed every write succeeds.
func TestFaultDiskFull(t *testing.T) {
	bin := binDir(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "microvm-e2e-full", dataDir).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs: %v: %s", err, out)
	}
	// Registered before the daemon's cleanup, so it runs after it.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dataDir).CombinedOutput(); err != nil {
			t.Errorf("unmount %s: %v: %s", dataDir, err, out)
		}
	})
	d := startDaemon(t, bin, dataDir)
	c := newClient(t, d)
	ctx := testContext(t)
	user, pass := "fault-user", "fault-pass"
	if _, err := c.CreateProfile(ctx, api.CreateVPNProfileRequest{Name: "keep", Config: faultProfile("keep.example.net"), Username: &user, Password: &pass}); err != nil {
		t.Fatal(err)
	}
	keepFile := filepath.Join(dataDir, "vpn", "profiles", "keep.json")
	keepBefore, err := os.ReadFile(keepFile)
	if err != nil {
		t.Fatal(err)
	}

	filler := filepath.Join(dataDir, "filler")
	filled := fillFilesystem(t, filler)
	writes := []struct {
		what string
		do   func() error
	}{
		{"create profile", func() error {
			_, err := c.CreateProfile(ctx, api.CreateVPNProfileRequest{Name: "new", Config: faultProfile("new.example.net"), Username: &user, Password: &pass})
			return err
		}},
		{"replace profile", func() error {
			_, err := c.PutProfile(ctx, "keep", api.PutVPNProfileRequest{Config: faultProfile("replaced.example.net")})
			return err
		}},
		{"create VM", func() error {
			_, err := c.CreateVM(ctx, "fault-full", "linux")
			return err
		}},
	}
	for _, w := range writes {
		err := w.do()
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 507 || ce.Code != "insufficient_storage" || !strings.Contains(ce.Detail, "no space left") {
			t.Fatalf("%s on a full filesystem: %v, want 507 insufficient_storage", w.what, err)
		}
		observe(t, "%s with the data dir full (%d KiB filler): %d %s (...%s)", w.what, filled>>10, ce.Status, ce.Code, ce.Detail[strings.LastIndex(ce.Detail, ": "):])
	}
	if err := c.Health(ctx); err != nil {
		t.Fatalf("daemon stopped serving: %v", err)
	}
	if p, err := c.GetProfile(ctx, "keep"); err != nil || len(p.Summary.Remotes) != 1 || p.Summary.Remotes[0].Host != "keep.example.net" || !p.HasPassword {
		t.Fatalf("stored profile after the failed writes: %+v %v", p, err)
	}
	if after, err := os.ReadFile(keepFile); err != nil || string(after) != string(keepBefore) {
		t.Fatalf("stored profile file changed: %v (%d bytes, was %d)", err, len(after), len(keepBefore))
	}
	if _, err := c.GetProfile(ctx, "new"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("the refused profile exists: %v", err)
	}
	if _, err := c.GetVM(ctx, "fault-full"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("the refused VM exists: %v", err)
	}
	if temps := profileTemps(t, dataDir); len(temps) > 0 {
		t.Fatalf("failed writes left temporary files: %v", temps)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for _, w := range writes {
		if err := w.do(); err != nil {
			t.Fatalf("%s once space is free: %v", w.what, err)
		}
	}
	checkProfileFiles(t, dataDir)
}

// fillFilesystem writes path until its filesystem is full and returns the
// bytes written.
func fillFilesystem(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	var n int64
	for {
		w, err := f.Write(chunk)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			if len(chunk) == 1 {
				return n
			}
			chunk = chunk[:len(chunk)/2] // fill the last partial pages too
			continue
		}
		if err != nil {
			t.Fatalf("fill %s: %v", path, err)
		}
	}
}
