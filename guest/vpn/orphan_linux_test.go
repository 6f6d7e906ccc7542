package vpn

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/guest/agentapi"
	"github.com/velocitty/microvm/internal/vpnlab"
	"golang.org/x/sys/unix"
)

// agentHelperEnv makes the test binary play an agent: connect the profile
// in the named file, print openvpn's pid once connected, then wait to be
// killed.
const agentHelperEnv = "VPN_TEST_AGENT_REQUEST"

func TestMain(m *testing.M) {
	if path := os.Getenv(agentHelperEnv); path != "" {
		os.Exit(agentHelper(path))
	}
	os.Exit(m.Run())
}

func agentHelper(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var req agentapi.VPNConnect
	if err := json.Unmarshal(b, &req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	sup := New(Config{RuntimeDir: filepath.Dir(path)})
	if err := sup.Connect(context.Background(), req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for {
		ch := sup.Changed()
		if st := sup.Status(); st.State == agentapi.VPNConnected {
			sup.mu.Lock()
			fmt.Printf("PID %d\n", sup.sess.pid.Load())
			sup.mu.Unlock()
			select {} // until killed
		}
		<-ch
	}
}

// TestAgentDeathStopsOpenVPN: openvpn connects to the agent's management
// socket with --management-client and quits when the agent goes away, so a
// crashed agent leaves no tunnel running unsupervised.
func TestAgentDeathStopsOpenVPN(t *testing.T) {
	skipUnlessOpenVPN(t)
	lab := vpnlab.New(t, vpnlab.Options{})
	dir := t.TempDir()
	b, _ := json.Marshal(connectReq(lab))
	path := filepath.Join(dir, "request.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(os.Args[0], "-test.run=^$")
	agent.Env = append(os.Environ(), agentHelperEnv+"="+path)
	agent.Stderr = os.Stderr
	out, err := agent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		agent.Process.Kill()
		agent.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "PID "))
	if err != nil || perr != nil {
		t.Fatalf("agent helper said %q: %v %v", line, err, perr)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open openvpn %d: %v", pid, err)
	}
	defer unix.Close(pidfd)

	agent.Process.Kill()
	agent.Wait()
	start := time.Now()
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 15000)
	if err != nil || n != 1 {
		syscallKill(pid)
		t.Fatalf("openvpn %d still runs 15s after its agent died (%v)", pid, err)
	}
	t.Logf("openvpn exited %v after its agent", time.Since(start))
}

func syscallKill(pid int) { unix.Kill(pid, unix.SIGKILL) }
