//go:build linux

package wslemu_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/velocitty/microvm/wsl/internal/emutest"
)

// emu runs the built emulator as a subprocess with its own state dir.
type emu struct {
	t     *testing.T
	exe   string
	state string
	env   []string
}

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wslemu-test-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newEmu(t *testing.T, env ...string) *emu {
	t.Helper()
	e := &emu{t: t, exe: emutest.Emulator(t, binDir), state: t.TempDir()}
	e.env = append([]string{"MICROVM_WSLEMU_STATE=" + e.state, "MICROVM_WSLEMU_IDLE_MS=300", "WSL_UTF8=1"}, env...)
	t.Cleanup(func() {
		// Stop whatever the test left running.
		e.env = append(e.env[:2:2], "WSL_UTF8=1")
		out, _, _ := e.run(nil, "--list", "--quiet")
		for _, n := range strings.Fields(out) {
			e.run(nil, "--terminate", n)
		}
	})
	return e
}

func (e *emu) cmd(ctx context.Context, stdin []byte, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.exe, args...)
	cmd.Env = append(os.Environ(), e.env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	return cmd
}

// run returns stdout, stderr and the exit status.
func (e *emu) run(stdin []byte, args ...string) (string, string, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := e.cmd(ctx, stdin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		e.t.Fatalf("run %q: %v", args, err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

func (e *emu) mustRun(args ...string) string {
	e.t.Helper()
	out, stderr, code := e.run(nil, args...)
	if code != 0 {
		e.t.Fatalf("%q: exit %d: %s %s", args, code, out, stderr)
	}
	return out
}

func utf16le(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// image writes a test rootfs tarball and returns its path.
func image(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rootfs.tar")
	emutest.Rootfs(t, p, nil)
	return p
}

func TestEncodingAndZeroDistros(t *testing.T) {
	emutest.RequireRoot(t)
	e := newEmu(t)
	e.env = e.env[:2] // no WSL_UTF8: UTF-16LE without BOM, CRLF
	if out, _, code := e.run(nil, "-l", "-q"); code != 0 || out != "" {
		t.Errorf("-l -q with no distributions = %q, %d; want empty, 0", out, code)
	}
	out, _, code := e.run(nil, "-l", "-v")
	want := utf16le("Windows Subsystem for Linux has no installed distributions.\r\n")
	if code != 255 || !bytes.HasPrefix([]byte(out), want) {
		t.Errorf("-l -v with no distributions = %q, %d", out, code)
	}
	if _, _, code := e.run(nil, "-l", "--running"); code != 255 {
		t.Errorf("-l --running with none running: exit %d, want 255", code)
	}
	e.env = append(e.env, "WSL_UTF8=1")
	out, _, _ = e.run(nil, "--status")
	if out != "Default Version: 2\r\n" {
		t.Errorf("--status = %q", out)
	}
	if out, _, code := e.run(nil, "--bogus"); code != 255 || !strings.HasPrefix(out, "Invalid command line argument: --bogus\r\n") {
		t.Errorf("--bogus = %q, %d", out, code)
	}
}

func TestImportChecksAndDefault(t *testing.T) {
	emutest.RequireRoot(t)
	e := newEmu(t)
	img := image(t)
	data := t.TempDir()
	expectErr := func(code string, args ...string) {
		t.Helper()
		out, _, status := e.run(nil, args...)
		if status != 255 || !strings.Contains(out, "Error code: "+code+"\r\n") {
			t.Errorf("%q = %q, %d; want code %s", args, out, status, code)
		}
	}
	expectErr("Wsl/Service/RegisterDistro/E_INVALIDARG", "--import", "bad name", data+"/x", img)
	expectErr("Wsl/ERROR_PATH_NOT_FOUND", "--import", "a", data+"/no/parent", img)
	expectErr("Wsl/ERROR_FILE_NOT_FOUND", "--import", "a", data+"/x", data+"/missing.tar")
	empty := filepath.Join(t.TempDir(), "empty.tar")
	if err := exec.Command("tar", "-cf", empty, "-C", t.TempDir(), ".").Run(); err != nil {
		t.Fatal(err)
	}
	expectErr("Wsl/Service/RegisterDistro/WSL_E_NOT_A_LINUX_DISTRO", "--import", "a", data+"/x", empty)
	if _, err := os.Stat(data + "/x"); !os.IsNotExist(err) {
		t.Errorf("failed import left its directory: %v", err)
	}

	e.mustRun("--import", "First", data+"/first", img, "--version", "2")
	e.mustRun("--import", "second-distro", data+"/second", img)
	expectErr("Wsl/Service/RegisterDistro/ERROR_ALREADY_EXISTS", "--import", "FIRST", data+"/third", img)
	expectErr("Wsl/Service/RegisterDistro/ERROR_FILE_EXISTS", "--import", "third", data+"/second", img)

	want := "  NAME             STATE           VERSION\r\n" +
		"* First            Stopped         2\r\n" +
		"  second-distro    Stopped         2\r\n"
	if out := e.mustRun("-l", "-v"); out != want {
		t.Errorf("-l -v =\n%q\nwant\n%q", out, want)
	}
	if out := e.mustRun("-l"); out != "Windows Subsystem for Linux Distributions:\r\nFirst (Default)\r\nsecond-distro\r\n" {
		t.Errorf("-l = %q", out)
	}
	e.mustRun("--unregister", "first") // case-insensitive; the default moves on
	if out := e.mustRun("-l", "-q"); out != "second-distro\r\n" {
		t.Errorf("-l -q = %q", out)
	}
	if _, err := os.Stat(data + "/first/rootfs"); !os.IsNotExist(err) {
		t.Errorf("unregister left the disk: %v", err)
	}
	expectErr("Wsl/Service/WSL_E_DISTRO_NOT_FOUND", "--unregister", "first")
	expectErr("Wsl/Service/WSL_E_DISTRO_NOT_FOUND", "-t", "first")
	expectErr("Wsl/Service/WSL_E_DISTRO_NOT_FOUND", "-d", "first", "--exec", "/bin/true")
}

func TestExecAndShellSemantics(t *testing.T) {
	emutest.RequireRoot(t)
	e := newEmu(t)
	e.mustRun("--import", "d", filepath.Join(t.TempDir(), "d"), image(t))

	// --exec: argv reaches the program unchanged.
	out := e.mustRun("-d", "d", "-u", "root", "--exec", "/bin/sh", "-c", `printf '%s|' "$@"`, "sh", "a;b", "$HOME", "two words")
	if out != "a;b|$HOME|two words|" {
		t.Errorf("--exec argv = %q", out)
	}
	// Shell mode: the rest is one string for the user's shell.
	if out := e.mustRun("-d", "d", "--", "printf", "%s-", "$HOME;", "printf", "x"); out != "/root-x" {
		t.Errorf("shell mode = %q", out)
	}
	// stdin and stdout are relayed byte for byte, no CRLF.
	data := []byte("line1\nline2\x00\xff\n")
	if out, _, code := e.run(data, "-d", "d", "--exec", "/bin/cat"); code != 0 || out != string(data) {
		t.Errorf("cat = %q, %d", out, code)
	}
	if _, _, code := e.run(nil, "-d", "d", "--exec", "/bin/sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exit 7 = %d", code)
	}
	if _, _, code := e.run(nil, "-d", "d", "--exec", "/bin/sh", "-c", "kill -9 $$"); code != 9 {
		t.Errorf("killed by SIGKILL = %d, want 9 (the raw wait status)", code)
	}
	_, stderr, code := e.run(nil, "-d", "d", "--exec", "/no/such")
	if code != 1 || !strings.Contains(stderr, "execvpe(/no/such) failed") {
		t.Errorf("missing program = %d, %q", code, stderr)
	}
	out, _, code = e.run(nil, "-d", "d", "-u", "nobody-here", "--exec", "/bin/sh")
	if code != 255 || !strings.Contains(out, "Wsl/WSL_E_USER_NOT_FOUND") {
		t.Errorf("unknown user = %q, %d", out, code)
	}
	// A PID namespace of its own: the session's shell is not PID 1 and
	// sees the distribution's init as PID 1.
	if out := e.mustRun("-d", "d", "--exec", "/bin/sh", "-c", "read -r c < /proc/1/comm; echo $c"); out != "wsl.exe\n" {
		t.Errorf("PID 1 comm = %q", out)
	}
}

func TestTerminateAndIdle(t *testing.T) {
	emutest.RequireRoot(t)
	e := newEmu(t)
	e.mustRun("--import", "d", filepath.Join(t.TempDir(), "d"), image(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout bytes.Buffer
	sess := e.cmd(ctx, nil, "-d", "d", "--exec", "/bin/sh", "-c", "echo up; exec sleep 100")
	sess.Stdout = &stdout
	pr, pw, _ := os.Pipe()
	sess.Stdout = pw
	if err := sess.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	buf := make([]byte, 3)
	if _, err := pr.Read(buf); err != nil || string(buf) != "up\n" {
		t.Fatalf("session did not start: %q %v", buf, err)
	}
	if out := e.mustRun("-l", "--running", "-q"); out != "d\r\n" {
		t.Errorf("--running = %q", out)
	}
	e.mustRun("--terminate", "d")
	err := sess.Wait()
	if sess.ProcessState.ExitCode() != 1 {
		t.Errorf("attached session after terminate: %v, want exit 1", err)
	}
	if out := e.mustRun("-l", "--running", "-q"); out != "" {
		t.Errorf("--running after terminate = %q", out)
	}
	e.mustRun("-t", "d") // stopped already: still success

	// Idle termination: the instance stops once its last client left.
	e.mustRun("-d", "d", "--exec", "/bin/sh", "-c", "true")
	deadline := time.Now().Add(10 * time.Second)
	for e.mustRun("-l", "--running", "-q") != "" {
		if time.Now().After(deadline) {
			t.Fatal("instance still running long after its idle timeout")
		}
		time.Sleep(50 * time.Millisecond) // the emulator's own timer decides
	}
}

func TestFaults(t *testing.T) {
	emutest.RequireRoot(t)
	e := newEmu(t, "MICROVM_WSLEMU_FAULT=stall")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := e.cmd(ctx, nil, "-l", "-q").Run(); ctx.Err() == nil {
		t.Errorf("stall: wsl.exe returned %v before being killed", err)
	}

	e = newEmu(t, "MICROVM_WSLEMU_FAULT=not-installed")
	if out, _, code := e.run(nil, "--status"); code != 255 || !strings.Contains(out, "WSL_E_WSL_OPTIONAL_COMPONENT_REQUIRED") {
		t.Errorf("not installed: %q %d", out, code)
	}
	e = newEmu(t, "MICROVM_WSLEMU_FAULT=no-virtualization")
	if out := e.mustRun("--status"); !strings.Contains(out, "virtualization is not enabled") || !strings.Contains(out, "WSL1 is not supported") {
		t.Errorf("no virtualization: %q", out)
	}
	out, _, code := e.run(nil, "--import", "d", filepath.Join(t.TempDir(), "d"), image(t))
	if code != 255 || !strings.Contains(out, "HCS_E_HYPERV_NOT_INSTALLED") {
		t.Errorf("import without virtualization: %q %d", out, code)
	}
}

func TestConcurrentInvocations(t *testing.T) {
	emutest.RequireRoot(t)
	e := newEmu(t)
	img := image(t)
	data := t.TempDir()
	names := []string{"c1", "c2", "c3", "c4"}
	errs := make(chan string, len(names))
	for _, n := range names {
		go func() {
			out, stderr, code := e.run(nil, "--import", n, filepath.Join(data, n), img)
			if code != 0 {
				errs <- n + ": " + out + stderr
				return
			}
			errs <- ""
		}()
	}
	for range names {
		if msg := <-errs; msg != "" {
			t.Error(msg)
		}
	}
	got := strings.Fields(e.mustRun("-l", "-q"))
	if len(got) != len(names) {
		t.Errorf("-l -q = %q, want all of %q", got, names)
	}
	// Sessions as another user run with that user's identity.
	out := e.mustRun("-d", "c2", "-u", "nobody", "--exec", "/bin/sh", "-c",
		`while read -r k v _; do [ "$k" = Uid: ] && echo "$v $USER $HOME $(pwd)"; done < /proc/self/status; true`)
	if out != "65534 nobody /nonexistent /\n" {
		t.Errorf("session as nobody = %q", out)
	}
}
