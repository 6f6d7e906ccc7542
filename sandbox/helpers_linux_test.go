package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// boxinitDir holds the test program; TestMain removes it.
var boxinitDir string

// boxinitOnce builds testdata/boxinit once per test binary.
var boxinitOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sandbox-boxinit-")
	if err != nil {
		return "", err
	}
	boxinitDir = dir
	bin := filepath.Join(dir, "boxinit")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/boxinit")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build boxinit: %v: %s", err, out)
	}
	return bin, nil
})

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates namespaces, mounts and cgroups")
	}
	if err := CgroupAvailable(); err != nil {
		t.Skipf("needs a cgroup that can freeze: %v", err)
	}
}

// testRootFS makes a minimal root file system holding the static test
// program and an os-release that no host has.
func testRootFS(t testing.TB) string {
	t.Helper()
	bin, err := boxinitOnce()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, d := range []string{"bin", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/boxinit"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("ID=sandbox-test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type testBox struct {
	cfg  Config
	addr string
}

// testConfig describes a box whose PID 1 serves on a free loopback port.
func testConfig(t testing.TB) testBox {
	t.Helper()
	root := testRootFS(t)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	id := fmt.Sprintf("test-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	return testBox{
		cfg: Config{
			ID:       id,
			RootFS:   root,
			Hostname: "box-" + strconv.Itoa(os.Getpid()),
			Argv:     []string{"/bin/boxinit", "serve", addr, "/ticks"},
			LogPath:  filepath.Join(t.TempDir(), "init.log"),
		},
		addr: addr,
	}
}

// startBox starts a box and destroys it when the test ends.
func startBox(t *testing.T, cfg Config) *Box {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Destroy(ctx); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	return b
}

// greet dials the box's server until it answers or the deadline passes.
func greet(t *testing.T, addr string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil {
				return strings.TrimSpace(line)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no greeting from %s: %v", addr, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// info runs "boxinit info" inside the box.
func info(t *testing.T, b *Box) report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := b.Command(ctx, []string{"/bin/boxinit", "info"})
	cmd.Env = []string{"PATH=/bin"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boxinit info: %v: %s", err, stderr.String())
	}
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("boxinit info: %v: %s", err, out)
	}
	return r
}

// report mirrors testdata/boxinit's output.
type report struct {
	PID       int               `json:"pid"`
	Hostname  string            `json:"hostname"`
	Procs     []int             `json:"procs"`
	Cmdline1  string            `json:"cmdline1"`
	OSRelease string            `json:"osRelease"`
	Dev       map[string]string `json:"dev"`
	Mounts    []string          `json:"mounts"`
}

// ticks reads the counter the box's PID 1 keeps in /ticks.
func ticks(t *testing.T, root string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "ticks"))
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(string(data))
	if err != nil {
		return -1 // caught mid-write
	}
	return n
}

func itoa(n int) string { return strconv.Itoa(n) }

func cleanupTestFiles() {
	if boxinitDir != "" {
		os.RemoveAll(boxinitDir)
	}
}
