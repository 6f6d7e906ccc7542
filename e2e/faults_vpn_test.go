//go:build e2e && linux

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/velocitty/microvm/internal/vpnlab"
)

// TestFaultDaemonRestartDuringSSH keeps an interactive SSH session open
// through the VM's proxy and the VPN while the daemon is restarted, once
// gracefully and once after SIGKILL: the session answers after each
// restart, and the VM and its tunnel are reported as they are.
func TestFaultDaemonRestartDuringSSH(t *testing.T) {
	bin := binDir(t)
	lab := vpnlab.New(t, vpnlab.Options{Proto: "udp", SSH: true})
	dataDir := t.TempDir()
	d := startDaemon(t, bin, dataDir)
	c := newClient(t, d)
	ctx := testContext(t)

	const name = "fault-ssh"
	vm, tunnel := vpnVM(t, c, lab, name)

	cmd := exec.CommandContext(ctx, "ssh", "-F", "/dev/null", "-T", "-i", lab.SSHKey,
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
		"-o", "ProxyCommand=nc -X 5 -x "+vm.SocksAddress+" %h %p",
		"-p", fmt.Sprint(lab.SSHAddr.Port()), lab.SSHUser+"@"+vpnlab.RemoteName,
		`while read l; do echo "got $l"; done`)
	errPath := filepath.Join(artifacts(t), "ssh.stderr")
	errFile, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	cmd.Stderr = errFile
	stderr := func() string { b, _ := os.ReadFile(errPath); return string(b) }
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	ended := false
	t.Cleanup(func() {
		if !ended {
			cmd.Process.Kill()
			<-readerDone
			cmd.Wait()
		}
	})

	// echo sends a line through the session and waits for its answer.
	echo := func(line string) time.Duration {
		t.Helper()
		began := time.Now()
		if _, err := fmt.Fprintln(stdin, line); err != nil {
			t.Fatalf("ssh session: send %q: %v\n%s", line, err, stderr())
		}
		select {
		case got, ok := <-lines:
			if !ok || got != "got "+line {
				t.Fatalf("ssh session: sent %q, got %q (open %v)\n%s", line, got, ok, stderr())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("ssh session: no answer to %q within 20s\n%s", line, stderr())
		}
		return time.Since(began)
	}
	observe(t, "ssh through the proxy and the VPN: first echo, the SSH handshake included, after %v", echo("before any restart").Round(time.Millisecond))

	for _, r := range []struct {
		how     string
		restart func()
	}{
		{"graceful (SIGTERM, start)", func() { d.stop(); d.start() }},
		{"crash (SIGKILL, start)", func() { d.kill9(); d.start() }},
	} {
		began := time.Now()
		r.restart()
		restarted := time.Since(began)
		c = newClient(t, d)
		took := echo("after " + r.how)
		if got, err := c.GetVM(ctx, name); err != nil || got.State != "running" {
			t.Fatalf("VM after a %s restart: %+v %v", r.how, got, err)
		}
		if st, err := c.VPNStatus(ctx, name); err != nil || st.State != "connected" || !st.Since.Equal(tunnel.Since) {
			t.Fatalf("the tunnel after a %s restart: %+v %v, want the one connected since %v", r.how, st, err, tunnel.Since)
		}
		observe(t, "daemon restart, %s: back in %v; the open ssh session answered %v later over the same tunnel",
			r.how, restarted.Round(time.Millisecond), took.Round(time.Millisecond))
	}

	// The end of input ends the remote loop and the session cleanly.
	stdin.Close()
	ended = true
	<-readerDone
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ssh session end: %v\n%s", err, stderr())
	}
}
