// Package emutest builds what tests of the WSL code run against: the
// wsl.exe emulator and a small root file system tarball made from the
// host's own programs.
package emutest

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"
)

// EnvEmulator may name a prebuilt emulator binary; otherwise it is built.
const EnvEmulator = "MICROVM_WSLEMU_BIN"

// RequireRoot skips the test unless it runs as root on Linux with
// nsenter and tar: the emulator creates namespaces.
func RequireRoot(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux: the wsl.exe emulator runs distributions in namespaces")
	}
	for _, p := range []string{"tar"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s for the wsl.exe emulator", p)
		}
	}
}

var buildOnce sync.Map // binary path -> true

// Build builds the Go package pkg (a main package path such as
// "github.com/velocitty/microvm/wsl/wslemu/cmd/wslemu") into dir/name,
// statically, with extra go build flags, and returns the binary's path.
func Build(t testing.TB, dir, name, pkg string, flags ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	if _, ok := buildOnce.Load(out); ok {
		return out
	}
	cmd := exec.Command("go", append(append([]string{"build", "-o", out}, flags...), pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	buildOnce.Store(out, true)
	return out
}

// Emulator returns the emulator binary named wsl.exe in dir, from
// $MICROVM_WSLEMU_BIN or freshly built.
func Emulator(t testing.TB, dir string) string {
	t.Helper()
	if p := os.Getenv(EnvEmulator); p != "" {
		return p
	}
	return Build(t, dir, "wsl.exe", "github.com/velocitty/microvm/wsl/wslemu/cmd/wslemu")
}

// hostPrograms go into the test root file system with their libraries.
var hostPrograms = []string{"/bin/sh", "/bin/cat", "/bin/mkdir", "/bin/chmod", "/bin/mv", "/bin/sleep", "/bin/date"}

// Rootfs writes a tarball of a minimal root file system to path: a
// shell and the few programs the backend uses, copied from the host with
// their shared libraries, /etc/passwd, /etc/os-release, and extra (guest
// path to content; programs and scripts get mode 0755).
func Rootfs(t testing.TB, path string, extra map[string][]byte) {
	t.Helper()
	files := map[string][]byte{
		"etc/passwd":     []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"),
		"etc/os-release": []byte("ID=microvm-test\n"),
	}
	for _, p := range hostPrograms {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Skipf("host program %s: %v", p, err)
		}
		files[p[1:]] = mustRead(t, real)
		for _, lib := range libraries(t, real) {
			files[lib[1:]] = mustRead(t, lib)
		}
	}
	for p, b := range extra {
		files[p] = b
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, d := range []string{"root", "tmp", "proc", "dev", "sys", "run"} {
		dirs[d] = true
	}
	for p := range files {
		for d := filepath.Dir(p); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode}))
	}
	for p, b := range files {
		mode := int64(0o644)
		if bytes.HasPrefix(b, []byte("\x7fELF")) || bytes.HasPrefix(b, []byte("#!")) {
			mode = 0o755
		}
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(b))}))
		_, err := tw.Write(b)
		must(t, err)
	}
	must(t, tw.Close())
	must(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

var libRE = regexp.MustCompile(`(/\S+\.so[.0-9]*)`)

// libraries lists the shared libraries of an ELF program with ldd.
func libraries(t testing.TB, prog string) []string {
	out, err := exec.Command("ldd", prog).Output()
	if err != nil {
		return nil // static
	}
	var libs []string
	for _, m := range libRE.FindAllString(string(out), -1) {
		real, err := filepath.EvalSymlinks(m)
		if err != nil {
			continue
		}
		libs = append(libs, m)
		if real != m {
			libs = append(libs, real)
		}
	}
	return libs
}

func mustRead(t testing.TB, p string) []byte {
	f, err := os.Open(p)
	must(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	must(t, err)
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
