package linuxvm

import (
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/sandbox"
)

func TestBoxIDUniquePerDataDir(t *testing.T) {
	a := machine.Spec{Name: "default", Dir: "/var/lib/microvm/vms/default"}
	b := machine.Spec{Name: "default", Dir: "/home/u/.local/state/microvm/vms/default"}
	if boxID(a) == boxID(b) {
		t.Fatalf("two data dirs share box ID %s", boxID(a))
	}
	if boxID(a) != boxID(machine.Spec{Name: "default", Dir: a.Dir + "/"}) {
		t.Fatal("box ID depends on a trailing slash")
	}
	if !strings.HasPrefix(boxID(a), "vm-default-") {
		t.Fatalf("box ID %s does not name the VM", boxID(a))
	}
}

func TestHostname(t *testing.T) {
	for name, want := range map[string]string{
		"default": "default", "vm-2": "vm-2", "Upper": "microvm", "a_b": "microvm",
		strings.Repeat("x", 64): "microvm",
	} {
		if got := hostname(machine.Spec{Name: name}); got != want {
			t.Errorf("hostname(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestBoxFileRoundTrip(t *testing.T) {
	s := machine.Spec{Name: "x", Dir: t.TempDir()}
	if _, err := readBox(s); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("readBox without a file: %v, want ErrNotFound", err)
	}
	want := boxFile{Box: sandbox.Ref{PID: 42, StartTime: 7, Cgroup: "/sys/fs/cgroup/microvm/x"}, AgentPort: 1025, SocksPort: 1080}
	if err := writeBox(s, want); err != nil {
		t.Fatal(err)
	}
	got, err := readBox(s)
	if err != nil || got != want {
		t.Fatalf("readBox = %+v, %v; want %+v", got, err, want)
	}
	if err := removeBox(s); err != nil {
		t.Fatal(err)
	}
	if err := removeBox(s); err != nil {
		t.Fatalf("second removeBox: %v", err)
	}
}

func TestCheckPorts(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	free := freePort(t)
	s := machine.Spec{Name: "x", AgentPort: free, SocksPort: taken}
	err = checkPorts(s)
	if !errors.Is(err, errdefs.ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(taken)) {
		t.Fatalf("checkPorts with %d taken: %v", taken, err)
	}
	if err := checkPorts(machine.Spec{Name: "x", AgentPort: free, SocksPort: freePort(t)}); err != nil {
		t.Fatalf("checkPorts with free ports: %v", err)
	}
}

func TestValidSpec(t *testing.T) {
	for _, s := range []machine.Spec{{Name: "", Dir: "/x"}, {Name: "a", Dir: "rel"}} {
		if err := validSpec(s); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("validSpec(%+v) = %v, want ErrInvalid", s, err)
		}
	}
	if err := validSpec(machine.Spec{Name: "a", Dir: filepath.Join(t.TempDir(), "a")}); err != nil {
		t.Error(err)
	}
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
