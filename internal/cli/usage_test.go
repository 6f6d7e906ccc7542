package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/velocitty/microvm/client"
)

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir() // no daemon: a usage error must not need one
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"vm"},
		{"vm", "bogus"},
		{"vm", "create"},
		{"vm", "create", "a", "b"},
		{"vm", "create", "a", "--backend", "qemu"},
		{"vm", "start", "a", "b"},
		{"vm", "ls", "--nope"},
		{"vm", "ls", "extra"},
		{"vm", "exec", "--vm", "work"},
		{"vm", "exec", "--timeout", "-1", "true"},
		{"vm", "rm"},
		{"vpn"},
		{"vpn", "connect"},
		{"vpn", "profile", "add", "work"},
		{"vpn", "profile", "add", "work", "-", "--password-stdin"},
		{"vpn", "profile", "show"},
		{"events", "extra"},
		{"logs", "a", "b"},
		{"shell", "a", "b"},
		{"completion"},
		{"completion", "tcsh"},
		{"help", "bogus"},
	} {
		r := runCLI(t, "", append([]string{"--data-dir", dir}, args...)...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "usage: microvm-api") || r.stdout != "" {
			t.Errorf("%q: want exit 2 with usage on stderr; got %v", args, r)
		}
	}
}

// walk calls fn with the path of every command of the tree.
func walk(cmd *command, path []string, fn func([]string, *command)) {
	fn(path, cmd)
	for _, s := range cmd.sub {
		walk(s, append(append([]string(nil), path...), s.name), fn)
	}
}

func TestHelpEverywhere(t *testing.T) {
	n := 0
	walk(root(), nil, func(path []string, cmd *command) {
		n++
		name := strings.Join(append([]string{"microvm-api"}, path...), " ")
		for _, h := range []string{"--help", "-h"} {
			r := runCLI(t, "", append(path, h)...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: "+name) || r.stderr != "" {
				t.Errorf("%s %s: %v", name, h, r)
			}
			if cmd.summary == "" || !strings.Contains(r.stdout, cmd.summary) {
				t.Errorf("%s %s: no summary", name, h)
			}
			if cmd.setup != nil && len(cmd.sub) == 0 && !strings.Contains(r.stdout, "Example") {
				t.Errorf("%s %s: no example", name, h)
			}
		}
		r := runCLI(t, "", append([]string{"help"}, path...)...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: "+name) {
			t.Errorf("help %s: %v", strings.Join(path, " "), r)
		}
	})
	if n < 20 {
		t.Fatalf("walked %d commands", n)
	}
}

func TestCompletion(t *testing.T) {
	r := runCLI(t, "", "completion", "bash")
	check(t, r, 0, "complete -F _microvm_api microvm-api", "")
	check(t, runCLI(t, "", "completion", "zsh"), 0, "#compdef microvm-api", "")
	fish := runCLI(t, "", "completion", "fish")
	check(t, fish, 0, "complete -c microvm-api -n '__microvm_api_at \"vm\"' -a 'ls create start", "")
	check(t, fish, 0, "vm ls --names", "")

	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run the script")
	}
	for _, tt := range []struct {
		words string
		want  string
	}{
		{"microvm-api vm st", "start stop"},
		{"microvm-api vpn profile ", "add ls show rm"},
		{"microvm-api --data-dir /x vm ls --j", "--json"},
		{"microvm-api completion ", "bash zsh fish"},
		{"microvm-api vm exec --", "--data-dir --dir --env --json --stdin --timeout --token-file --url --vm --help"},
		{"microvm-api ", "vm vpn shell logs events console completion serve version help"},
	} {
		script := r.stdout + `
COMP_WORDS=(` + tt.words + ` "")
[[ "` + tt.words + `" == *" " ]] || unset 'COMP_WORDS[${#COMP_WORDS[@]}-1]'
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
microvm-api() { :; }
_microvm_api
echo "${COMPREPLY[*]}"
`
		out, err := exec.Command(bash, "--norc", "-c", script).CombinedOutput()
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), tt.want) {
			t.Errorf("complete %q: %q (%v), want %q", tt.words, out, err, tt.want)
		}
	}
}

func TestDaemonFlagsAnywhere(t *testing.T) {
	d := startDaemon(t)
	for _, args := range [][]string{
		{"--data-dir", d.dir, "vm", "ls", "--names"},
		{"vm", "--data-dir", d.dir, "ls", "--names"},
		{"vm", "ls", "--data-dir", d.dir, "--names"},
		{"vpn", "profile", "--data-dir", d.dir, "ls"},
	} {
		check(t, runCLI(t, "", args...), 0, "", "")
	}
}

func TestReport(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code int
		want string
	}{
		{&client.Error{Status: 422, Code: "profile_directive_refused", Detail: "refused", Line: 7, Directive: "up"},
			1, "error: refused (profile_directive_refused)\n  line 7: the directive \"up\" is not allowed in a profile\n"},
		{&client.Error{Status: 501, Code: "not_implemented", Detail: "VPN connect is not available in this server"},
			1, "error: VPN connect is not available in this server (not_implemented)\n  this daemon does not offer that yet"},
		{&client.Error{Status: 502}, 1, "error: HTTP 502 (502)\n"},
		{fmt.Errorf("start: %w", context.Canceled), ExitInterrupted, "interrupted\n"},
		{errors.New("boom"), 1, "error: boom\n"},
	} {
		var out bytes.Buffer
		e := &env{stderr: &out}
		if code := e.report(tt.err); code != tt.code || !strings.HasPrefix(out.String(), tt.want) {
			t.Errorf("report(%v) = %d %q, want %d %q", tt.err, code, out.String(), tt.code, tt.want)
		}
	}
}
