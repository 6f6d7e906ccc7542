package linuxvm

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/sandbox"
)

// fixtures are built once per test binary: two fake agent versions and a
// small guest image holding neither (the backend deploys the agent).
type fixtures struct {
	dir       string
	agent     string // the real agent (MICROVM_TEST_AGENT) or fakeV1
	fakeV1    string
	fakeV2    string
	image     string
	realImage bool
	buildErr  error
	buildOnce sync.Once
}

var fx fixtures

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: starts namespace sandboxes")
	}
	if err := sandbox.CgroupAvailable(); err != nil {
		t.Skipf("needs a cgroup that can freeze: %v", err)
	}
}

// getFixtures builds the fixtures. MICROVM_TEST_IMAGE and
// MICROVM_TEST_AGENT, when set, replace the small image and the default
// agent with the real ones; tests that need the fakes' behaviour still
// get them.
func getFixtures(t *testing.T) *fixtures {
	t.Helper()
	fx.buildOnce.Do(func() { fx.buildErr = fx.build() })
	if fx.buildErr != nil {
		t.Fatal(fx.buildErr)
	}
	return &fx
}

func (f *fixtures) build() error {
	dir, err := os.MkdirTemp("", "linuxvm-test-")
	if err != nil {
		return err
	}
	f.dir = dir
	for _, v := range []struct {
		out     *string
		version string
	}{{&f.fakeV1, "v1"}, {&f.fakeV2, "v2"}} {
		*v.out = filepath.Join(dir, "fakeagent-"+v.version)
		cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+v.version, "-o", *v.out, "./testdata/fakeagent")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build fake agent: %v: %s", err, out)
		}
	}
	f.agent = f.fakeV1
	if a := os.Getenv("MICROVM_TEST_AGENT"); a != "" {
		f.agent = a
	}
	if img := os.Getenv("MICROVM_TEST_IMAGE"); img != "" {
		f.image, f.realImage = img, true
		return nil
	}
	root := filepath.Join(dir, "root")
	for _, d := range []string{"etc", "usr/local/bin", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("ID=linuxvm-test\n"), 0o644); err != nil {
		return err
	}
	f.image = filepath.Join(dir, "guest.tar.gz")
	if out, err := exec.Command("tar", "-C", root, "-czf", f.image, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("pack test image: %v: %s", err, out)
	}
	return nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// Which agent a test runs.
type agentKind int

const (
	anyAgent  agentKind = iota // the real one when given, else the fake
	fakeAgent                  // the fake v1, for its special tokens
)

// newTest returns a backend on the fixtures and a spec in a fresh
// directory. The VM is deleted when the test ends.
func newTest(t *testing.T, kind agentKind) (*Backend, machine.Spec) {
	t.Helper()
	requireRoot(t)
	f := getFixtures(t)
	agent := f.agent
	if kind == fakeAgent {
		agent = f.fakeV1
	}
	b := New(Config{ImagePath: f.image, AgentPath: agent, Logger: testLogger(t)})
	s := machine.Spec{
		Name:      "t" + fmt.Sprint(time.Now().UnixNano()%1e9),
		Dir:       filepath.Join(t.TempDir(), "vm"),
		AgentPort: freePort(t),
		SocksPort: freePort(t),
		Token:     "secret-token",
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.Delete(ctx, s); err != nil {
			t.Errorf("delete: %v", err)
		}
	})
	return b, s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantState(t *testing.T, b *Backend, s machine.Spec, want machine.GuestState) {
	t.Helper()
	st, err := b.Status(testCtx(t), s)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != want {
		t.Fatalf("state %s (%s), want %s", st.State, st.Reason, want)
	}
}
