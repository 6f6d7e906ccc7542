package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/client"
	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/server/servertest"
)

func newClient(t *testing.T) (*client.Client, *testDaemon) {
	t.Helper()
	d, err := startDaemon()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	// Every answer the client sees is checked against the spec too.
	c, err := client.FromDataDir(d.dir, client.WithHTTPClient(&http.Client{Transport: servertest.Contract(t, nil)}))
	if err != nil {
		t.Fatal(err)
	}
	return c, d
}

func TestLifecycle(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	vm, err := c.CreateVM(ctx, "work", "")
	if err != nil || vm.Backend != "linux" || vm.State != api.VMStateCreated {
		t.Fatalf("create: %+v %v", vm, err)
	}
	if _, err := c.CreateVM(ctx, "work", "linux"); !errors.Is(err, errdefs.ErrAlreadyExists) || !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("create twice: %v", err)
	}
	_, err = c.CreateVM(ctx, "Bad Name", "")
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Field != "name" || !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("bad name: %#v", err)
	}
	for _, step := range []struct {
		op   func(context.Context, string) (api.VM, error)
		want api.VMState
	}{
		{c.StartVM, "running"}, {c.PauseVM, "paused"}, {c.ResumeVM, "running"},
		{c.StopVM, "stopped"}, {c.StartVM, "running"}, {c.KillVM, "stopped"},
	} {
		vm, err := step.op(ctx, "work")
		if err != nil || vm.State != step.want {
			t.Fatalf("want %s: %+v %v", step.want, vm, err)
		}
	}
	vms, err := c.ListVMs(ctx)
	if err != nil || len(vms) != 2 || vms[0].Name != "default" || vms[1].Name != "work" {
		t.Fatalf("list: %+v %v", vms, err)
	}
	if err := c.DeleteVM(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVM(ctx, "work"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.DefaultBackend != "linux" || len(info.Backends) != 2 {
		t.Fatalf("info: %+v %v", info, err)
	}
}

func TestExecAndLogs(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	if _, err := c.StartVM(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	res, err := c.Exec(ctx, "default", api.ExecRequest{Argv: []string{"cat"}, Stdin: "piped"})
	if err != nil || res.Stdout != "piped" {
		t.Fatalf("exec: %+v %v", res, err)
	}
	res, err = c.Exec(ctx, "default", api.ExecRequest{Argv: []string{"false"}})
	if err != nil || res.ExitCode != 1 {
		t.Fatalf("exec false: %+v %v", res, err)
	}
	logs, err := c.Logs(ctx, "default", 0)
	if err != nil || len(logs) == 0 {
		t.Fatalf("logs: %+v %v", logs, err)
	}
}

func TestProfiles(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	_, err := c.UploadProfile(ctx, "evil", strings.NewReader("client\nplugin /x.so\n"))
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Code != "profile_directive_refused" || apiErr.Line != 2 ||
		apiErr.Directive != "plugin" || !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("refused directive: %#v", err)
	}
	if _, err := c.GetProfile(ctx, "evil"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("refused profile stored: %v", err)
	}
	list, err := c.ListProfiles(ctx)
	if err != nil || len(list) != 0 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := c.DeleteProfile(ctx, "none"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

func TestEvents(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	s, err := c.Events(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, err := s.Next()
	if err != nil || first.Type != api.EventTypeVMCreated || first.VM != "default" {
		t.Fatalf("first event: %+v %v", first, err)
	}
	if _, err := c.StartVM(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	for {
		e, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == api.EventTypeVMState && e.State == "running" {
			break
		}
	}
	// Resuming after the first event skips it.
	s2, err := c.Events(ctx, uint64(first.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if e, err := s2.Next(); err != nil || e.ID != first.ID+1 {
		t.Fatalf("resumed stream: %+v %v", e, err)
	}
}

func TestUnauthorized(t *testing.T) {
	c, _ := newClient(t)
	bad, err := client.New(c.URL(), strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Health(t.Context()); err != nil {
		t.Fatalf("health needs no token: %v", err)
	}
	if _, err := bad.ListVMs(t.Context()); !errors.Is(err, errdefs.ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestDaemonNotRunning(t *testing.T) {
	if _, err := client.FromDataDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is the daemon running?") {
		t.Fatalf("empty data dir: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, err := client.New("http://"+addr, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListVMs(t.Context()); err == nil || !strings.Contains(err.Error(), "is the daemon running?") {
		t.Fatalf("refused: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := c.WaitReady(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady: %v", err)
	}
	if _, err := client.New("127.0.0.1:8421", "x"); err == nil {
		t.Fatal("URL without scheme accepted")
	}
}

// TestDeps keeps the client light to embed: no server, router,
// validator or VM manager code.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/velocitty/microvm/client").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, forbidden := range []string{
		"github.com/velocitty/microvm/server", "github.com/velocitty/microvm/machine",
		"github.com/velocitty/microvm/vpn", "github.com/velocitty/microvm/internal/daemon",
		"github.com/go-chi/chi", "github.com/getkin/kin-openapi",
	} {
		for line := range strings.Lines(string(out)) {
			if strings.HasPrefix(line, forbidden) {
				t.Errorf("client depends on %s", strings.TrimSpace(line))
			}
		}
	}
}
