package cli

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
)

// check fails the test unless the run exited with code and its stdout and
// stderr contain the wanted texts.
func check(t *testing.T, r result, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
		t.Fatalf("want exit %d, stdout with %q, stderr with %q; got %v", code, stdout, stderr, r)
	}
}

func TestVMLifecycle(t *testing.T) {
	d := startDaemon(t)
	check(t, d.cli(t, "", "vm", "create", "work"), 0, "VM work created (created)", "")
	check(t, d.cli(t, "", "vm", "create", "work"), 1, "", "(already_exists)")

	r := d.cli(t, "", "vm", "ls")
	check(t, r, 0, "NAME", "")
	if !regexp.MustCompile(`(?m)^NAME +BACKEND +STATE +SOCKS +AGE/REASON\n(.*\n)*work +linux +created +\S+ +\d+s$`).MatchString(r.stdout) {
		t.Errorf("table:\n%s", r.stdout)
	}

	r = d.cli(t, "", "vm", "start", "work")
	check(t, r, 0, "VM work started (running), SOCKS5 proxy on 127.0.0.1:", "starting VM work (first start")
	if !strings.Contains(r.stderr, "done in") {
		t.Errorf("no end of progress: %q", r.stderr)
	}

	r = d.cli(t, "", "vm", "ls", "--json")
	var list api.VMList
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || r.code != 0 {
		t.Fatalf("ls --json: %v\n%v", err, r)
	}
	var found bool
	for _, vm := range list.VMs {
		found = found || vm.Name == "work" && vm.State == api.VMStateRunning
	}
	if !found {
		t.Errorf("ls --json: %+v", list.VMs)
	}
	check(t, d.cli(t, "", "vm", "ls", "--names"), 0, "work\n", "")

	// Flags may follow the arguments.
	r = d.cli(t, "", "vm", "pause", "work", "--json")
	var vm api.VM
	if err := json.Unmarshal([]byte(r.stdout), &vm); err != nil || vm.State != api.VMStatePaused {
		t.Fatalf("pause --json: %v\n%v", err, r)
	}
	check(t, d.cli(t, "", "vm", "resume", "work"), 0, "VM work resumed (running)", "")
	check(t, d.cli(t, "", "vm", "rm", "work"), 1, "", "VM work is running: stop it first, or use --force")
	check(t, d.cli(t, "", "vm", "stop", "work"), 0, "VM work stopped (stopped)", "stopping VM work...")
	r = d.cli(t, "", "vm", "pause", "work")
	check(t, r, 1, "", "error: ")
	if !regexp.MustCompile(`^error: .+ \(invalid_state\)\n$`).MatchString(r.stderr) {
		t.Errorf("409 message: %q", r.stderr)
	}
	check(t, d.cli(t, "", "vm", "start", "work"), 0, "started", "")
	check(t, d.cli(t, "", "vm", "rm", "work", "--force"), 0, "VM work removed", "")
	check(t, d.cli(t, "", "vm", "start", "work"), 1, "", "(not_found)")
}

func TestVMExec(t *testing.T) {
	d := startDaemon(t)
	check(t, d.cli(t, "", "vm", "create", "work"), 0, "", "")
	check(t, d.cli(t, "", "vm", "start", "work"), 0, "", "")
	check(t, d.cli(t, "", "vm", "exec", "--vm", "work", "--", "echo", "hi", "-n"), 0, "hi -n\n", "")
	check(t, d.cli(t, "", "vm", "exec", "--vm", "work", "echo", "no", "dashes"), 0, "no dashes\n", "")
	check(t, d.cli(t, "", "vm", "exec", "--vm", "work", "--", "false"), 1, "", "")
	check(t, d.cli(t, "", "vm", "exec", "--vm", "work", "--", "nosuch"), 127, "", "nosuch: not found")
	check(t, d.cli(t, "piped\n", "vm", "exec", "--vm", "work", "--stdin", "--", "cat"), 0, "piped\n", "")
	r := d.cli(t, "", "vm", "exec", "--vm", "work", "--json", "--", "false")
	var res api.ExecResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.ExitCode != 1 || r.code != 1 {
		t.Fatalf("exec --json: %v\n%v", err, r)
	}
	// The default VM is not running.
	check(t, d.cli(t, "", "vm", "exec", "true"), 1, "", "error: ")
}

func TestLogs(t *testing.T) {
	d := startDaemon(t)
	check(t, d.cli(t, "", "vm", "create", "work"), 0, "", "")
	check(t, d.cli(t, "", "vm", "start", "work"), 0, "", "")
	check(t, d.cli(t, "", "logs", "work", "--limit", "5"), 0, "agent started", "")
	r := d.cli(t, "", "logs", "work", "--json")
	var l api.LogList
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Entries) == 0 {
		t.Fatalf("logs --json: %v\n%v", err, r)
	}
	check(t, d.cli(t, "", "logs", "work", "--limit", "-1"), 2, "", "--limit")
}

func TestDaemonNotRunning(t *testing.T) {
	dir := t.TempDir()
	check(t, runCLI(t, "", "--data-dir", dir, "vm", "ls"), 3, "", "is the daemon running?")

	// A daemon that died left its api.json behind.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	disc, _ := json.Marshal(api.Discovery{URL: "http://" + addr, PID: 1, StartedAt: time.Now()})
	os.WriteFile(filepath.Join(dir, api.DiscoveryFile), disc, 0o600)
	os.WriteFile(filepath.Join(dir, api.TokenFile), []byte("tok\n"), 0o600)
	check(t, runCLI(t, "", "--data-dir", dir, "vm", "start"), 3, "", "is the daemon running?")
	check(t, runCLI(t, "", "--url", "http://"+addr, "--token-file", filepath.Join(dir, api.TokenFile), "vpn", "status"),
		3, "", "is the daemon running?")
}

func TestWrongToken(t *testing.T) {
	d := startDaemon(t)
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("wrong"), 0o600)
	check(t, runCLI(t, "", "--url", d.url, "--token-file", tok, "vm", "ls"), 1, "", "(unauthorized)")
	r := runCLI(t, "", "--url", d.url, "--data-dir", d.dir, "vm", "ls")
	check(t, r, 0, "NAME", "")
}

func TestEnvironment(t *testing.T) {
	d := startDaemon(t)
	token, err := os.ReadFile(filepath.Join(d.dir, api.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvURL, d.url)
	t.Setenv(EnvToken, strings.TrimSpace(string(token)))
	check(t, runCLI(t, "", "vm", "ls", "--names"), 0, "default\n", "")
	t.Setenv(EnvToken, "wrong")
	r := runCLI(t, "", "vm", "ls")
	check(t, r, 1, "", "(unauthorized)")
	if strings.Contains(r.stderr, "wrong") {
		t.Errorf("the token was printed: %q", r.stderr)
	}
	t.Setenv(EnvURL, "")
	t.Setenv(EnvToken, "")
	t.Setenv(EnvDataDir, d.dir)
	check(t, runCLI(t, "", "vm", "ls", "--names"), 0, "default\n", "")
}
