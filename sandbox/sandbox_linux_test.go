package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/velocitty/microvm/errdefs"
)

func TestBoxNamespaces(t *testing.T) {
	requireRoot(t)
	tb := testConfig(t)
	b := startBox(t, tb.cfg)
	greet(t, tb.addr)

	r := info(t, b)
	if r.Hostname != tb.cfg.Hostname {
		t.Errorf("hostname %q, want %q", r.Hostname, tb.cfg.Hostname)
	}
	if r.Cmdline1 != strings.Join(tb.cfg.Argv, " ") {
		t.Errorf("PID 1 runs %q, want the box's argv %q", r.Cmdline1, tb.cfg.Argv)
	}
	// A fresh /proc of the new PID namespace: PID 1, the command and
	// the nsenter parent it forked from, nothing of the host.
	if !slices.Contains(r.Procs, 1) || len(r.Procs) > 4 {
		t.Errorf("processes visible inside: %v, want only the box's", r.Procs)
	}
	if r.PID == 1 || !slices.Contains(r.Procs, r.PID) {
		t.Errorf("command runs as pid %d inside, want one of the box's namespace %v", r.PID, r.Procs)
	}
	if r.OSRelease != "ID=sandbox-test\n" {
		t.Errorf("os-release %q: not the box's root", r.OSRelease)
	}
	for _, dev := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		if r.Dev[dev] != "Dc" {
			t.Errorf("/dev/%s: %s, want a character device", dev, r.Dev[dev])
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err == nil && r.Dev["net/tun"] != "Dc" {
		t.Errorf("/dev/net/tun: %s", r.Dev["net/tun"])
	}
	if r.Dev["ptmx"] != "L" || r.Dev["pts/ptmx"] != "Dc" || r.Dev["shm"] != "d" {
		t.Errorf("/dev/ptmx %s, /dev/pts/ptmx %s, /dev/shm %s", r.Dev["ptmx"], r.Dev["pts/ptmx"], r.Dev["shm"])
	}
	for _, want := range []string{"/proc ", "/sys ro,", "/dev ", "/dev/pts ", "/tmp ", "/run "} {
		if !slices.ContainsFunc(r.Mounts, func(m string) bool { return strings.HasPrefix(m, want) }) {
			t.Errorf("no mount %q inside: %v", want, r.Mounts)
		}
	}
	if slices.ContainsFunc(r.Mounts, func(m string) bool { return strings.Contains(m, tb.cfg.RootFS) }) {
		t.Errorf("host paths visible in the box's mounts: %v", r.Mounts)
	}
	// Host state is untouched.
	if h, _ := os.Hostname(); h == tb.cfg.Hostname {
		t.Errorf("host name changed to %q", h)
	}
	if host, _ := os.ReadFile("/etc/resolv.conf"); host != nil {
		got, _ := os.ReadFile(filepath.Join(tb.cfg.RootFS, "etc/resolv.conf"))
		if string(got) != string(host) {
			t.Errorf("box resolv.conf %q, want the host's %q", got, host)
		}
	}
}

func TestBoxSharesHostNetwork(t *testing.T) {
	requireRoot(t)
	tb := testConfig(t)
	b := startBox(t, tb.cfg)
	// The server listens inside the box; the host reaches it on its own
	// loopback. It calls itself PID 1.
	if got := greet(t, tb.addr); got != "hello from 1" {
		t.Fatalf("greeting %q, want PID 1's", got)
	}
	if !b.Alive() {
		t.Fatal("box not alive")
	}
}

func TestBoxFreezeThaw(t *testing.T) {
	requireRoot(t)
	tb := testConfig(t)
	b := startBox(t, tb.cfg)
	greet(t, tb.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := b.Freeze(ctx); err != nil {
		t.Fatal(err)
	}
	if frozen, err := b.Frozen(); err != nil || !frozen {
		t.Fatalf("Frozen() = %v, %v after Freeze", frozen, err)
	}
	before := ticks(t, tb.cfg.RootFS)
	// The ticker fires every 2 ms; 100 ms without a tick is no progress.
	time.Sleep(100 * time.Millisecond)
	if after := ticks(t, tb.cfg.RootFS); after != before {
		t.Fatalf("ticks went from %d to %d while frozen", before, after)
	}

	if err := b.Thaw(ctx); err != nil {
		t.Fatal(err)
	}
	if frozen, err := b.Frozen(); err != nil || frozen {
		t.Fatalf("Frozen() = %v, %v after Thaw", frozen, err)
	}
	err := poll(ctx, "ticks advance", func() (bool, error) { return ticks(t, tb.cfg.RootFS) > before, nil })
	if err != nil {
		t.Fatal(err)
	}
}

func TestBoxKillFrozen(t *testing.T) {
	requireRoot(t)
	tb := testConfig(t)
	b := startBox(t, tb.cfg)
	greet(t, tb.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Freeze(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Alive() {
		t.Fatal("alive after Kill")
	}
}

func TestBoxDestroyCleansUp(t *testing.T) {
	requireRoot(t)
	tb := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Start(ctx, tb.cfg)
	if err != nil {
		t.Fatal(err)
	}
	greet(t, tb.addr)
	// A command inside keeps running until the box goes.
	cmd := b.Command(ctx, []string{"/bin/boxinit", "serve", "127.0.0.1:0", "/ticks2"})
	cmd.Env = []string{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	cg, err := openCgroup(b.Ref().Cgroup)
	if err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, "command joins the cgroup", func() (bool, error) {
		pids, err := cg.procs()
		return len(pids) >= 3, err // init, nsenter, command
	}); err != nil {
		t.Fatal(err)
	}

	if err := b.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Error("command inside survived Destroy")
	}
	if b.Alive() {
		t.Error("box alive after Destroy")
	}
	if _, err := os.Stat(b.Ref().Cgroup); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup %s left: %v", b.Ref().Cgroup, err)
	}
	if _, err := os.Stat("/proc/" + itoa(b.Ref().PID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("process %d left: %v", b.Ref().PID, err)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), tb.cfg.RootFS) {
		t.Errorf("host mounts reference the root file system:\n%s", mounts)
	}
	// Destroy again is harmless.
	if err := b.Destroy(ctx); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
	if _, err := Attach(b.Ref()); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Attach after Destroy: %v, want ErrNotFound", err)
	}
}

func TestBoxSignalAndWait(t *testing.T) {
	requireRoot(t)
	tb := testConfig(t)
	b := startBox(t, tb.cfg)
	greet(t, tb.addr)
	if err := b.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Alive() {
		t.Fatal("alive after Wait")
	}
	if err := b.Signal(syscall.SIGTERM); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Signal to a gone box: %v, want ErrNotFound", err)
	}
}

func TestStartFailures(t *testing.T) {
	requireRoot(t)
	tb := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cfg := tb.cfg
	cfg.Argv = []string{"/bin/missing"}
	_, err := Start(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "/bin/missing") {
		t.Fatalf("Start with a missing program: %v", err)
	}
	parent, err := cgroupParentDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(parent.dir, cfg.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed start left its cgroup: %v", err)
	}

	for name, bad := range map[string]Config{
		"id":     {ID: "../x", RootFS: cfg.RootFS, Argv: cfg.Argv},
		"argv":   {ID: "x", RootFS: cfg.RootFS},
		"rootfs": {ID: "x", RootFS: "relative", Argv: cfg.Argv},
	} {
		if _, err := Start(ctx, bad); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}

	// The same ID twice while the first runs.
	startBox(t, tb.cfg)
	if _, err := Start(ctx, tb.cfg); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second start of %s: %v, want ErrAlreadyExists", tb.cfg.ID, err)
	}
}

func TestAttachRejectsReusedPID(t *testing.T) {
	requireRoot(t)
	tb := testConfig(t)
	b := startBox(t, tb.cfg)
	ref := b.Ref()
	if _, err := Attach(ref); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	// The same PID with another start time is another process.
	reused := ref
	reused.StartTime++
	if _, err := Attach(reused); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Attach with a different start time: %v, want ErrNotFound", err)
	}
	// This very process is alive, but it is not the box.
	self := Ref{PID: os.Getpid(), StartTime: ref.StartTime}
	if _, err := Attach(self); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Attach to another live process: %v, want ErrNotFound", err)
	}
}

// TestBoxOutlivesStarter starts a box from a separate process, SIGKILLs
// that process, and finds the box again from its Ref.
func TestBoxOutlivesStarter(t *testing.T) {
	requireRoot(t)
	tb := testConfig(t)
	cfgJSON, err := json.Marshal(tb.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	starter := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	starter.Env = append(os.Environ(), envStarter+"="+string(cfgJSON))
	starter.Stderr = os.Stderr
	out, err := starter.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := starter.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil {
		starter.Process.Kill()
		starter.Wait()
		t.Fatalf("starter: %v", err)
	}
	var ref Ref
	if err := json.Unmarshal(line, &ref); err != nil {
		t.Fatal(err)
	}
	if err := starter.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	starter.Wait()

	b, err := Attach(ref)
	if err != nil {
		t.Fatalf("Attach after the starter died: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Destroy(context.Background()); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	if !b.Alive() {
		t.Fatal("box died with its starter")
	}
	if got := greet(t, tb.addr); got != "hello from 1" {
		t.Fatalf("greeting %q", got)
	}
	if err := b.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Alive() {
		t.Fatal("alive after Kill")
	}
}

func TestCommandCancelKillsInside(t *testing.T) {
	requireRoot(t)
	tb := testConfig(t)
	b := startBox(t, tb.cfg)
	greet(t, tb.addr)
	cg, err := openCgroup(b.Ref().Cgroup)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cmdCtx, cancelCmd := context.WithCancel(ctx)
	cmd := b.Command(cmdCtx, []string{"/bin/boxinit", "serve", "127.0.0.1:0", "/ticks2"})
	cmd.Env = []string{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = poll(ctx, "command runs inside", func() (bool, error) {
		pids, err := cg.procs()
		return len(pids) == 3, err // init, nsenter, the command
	})
	if err != nil {
		t.Fatal(err)
	}
	cancelCmd()
	if err := cmd.Wait(); err == nil {
		t.Fatal("cancelled command exited cleanly")
	}
	err = poll(ctx, "only init left", func() (bool, error) {
		pids, err := cg.procs()
		return len(pids) == 1 && pids[0] == b.Ref().PID, err
	})
	if err != nil {
		pids, _ := cg.procs()
		t.Fatalf("%v: processes in the box: %v", err, pids)
	}
	if !b.Alive() {
		t.Fatal("box died with the command")
	}
}
