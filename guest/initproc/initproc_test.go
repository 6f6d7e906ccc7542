//go:build linux

package initproc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary plays init and its child, chosen by INITPROC_ROLE.
func TestMain(m *testing.M) {
	switch os.Getenv("INITPROC_ROLE") {
	case "init":
		os.Setenv("INITPROC_ROLE", "child")
		os.Exit(Run([]string{"/proc/self/exe"}, nil))
	case "child":
		child()
		return
	}
	os.Exit(m.Run())
}

// child leaves an orphan behind (a shell whose background sleep outlives
// it), reports the orphan's pid, and exits 7 on SIGTERM.
func child() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	out, err := exec.Command("sh", "-c", "sleep 0.2 & echo $!").Output()
	if err != nil {
		os.Exit(99)
	}
	fmt.Printf("orphan %s", out)
	fmt.Println("ready")
	<-sigs
	os.Exit(7)
}

// zombieChildren lists the zombies whose parent is pid.
func zombieChildren(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var zs []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[0] == "Z" && f[1] == strconv.Itoa(pid) {
			zs = append(zs, p)
		}
	}
	return zs
}

func runInit(t *testing.T, argv ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "INITPROC_ROLE=init")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

func TestReapsAndForwards(t *testing.T) {
	cmd, sc := runInit(t, os.Args[0])
	orphan := 0
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "orphan "); ok {
			orphan, _ = strconv.Atoi(n)
		}
		if sc.Text() == "ready" {
			break
		}
	}
	if orphan == 0 {
		t.Fatal("child did not report its orphan")
	}
	// The orphan exits after 0.2s; init must reap it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", orphan))
		if os.IsNotExist(err) && len(zombieChildren(cmd.Process.Pid)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphan %d not reaped; zombies of init: %v", orphan, zombieChildren(cmd.Process.Pid))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != 7 {
		t.Fatalf("init exit: %v, want the child's 7", err)
	}
}

// TestPID1 runs init as the first process of a new PID namespace, where
// the kernel ignores signals it has no handler for.
func TestPID1(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for a PID namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare not installed")
	}
	if err := exec.Command(unshare, "--pid", "--fork", "--mount-proc", "true").Run(); err != nil {
		t.Skipf("cannot create a PID namespace here: %v", err)
	}
	cmd, sc := runInit(t, unshare, "--pid", "--fork", "--mount-proc", "--kill-child", os.Args[0])
	for sc.Scan() && sc.Text() != "ready" {
	}
	// unshare forwards nothing: signal our init (pid 1 inside) directly.
	initPid := 0
	deadline := time.Now().Add(5 * time.Second)
	for initPid == 0 && time.Now().Before(deadline) {
		for _, p := range childrenOf(cmd.Process.Pid) {
			initPid = p
		}
		time.Sleep(10 * time.Millisecond)
	}
	if initPid == 0 {
		t.Fatal("no init process under unshare")
	}
	syscall.Kill(initPid, syscall.SIGTERM)
	cmd.Wait()
	if cmd.ProcessState.ExitCode() != 7 {
		t.Fatalf("exit %d, want the child's 7", cmd.ProcessState.ExitCode())
	}
}

func childrenOf(pid int) []int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}
