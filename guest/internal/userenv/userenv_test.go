package userenv

import (
	"errors"
	"os/exec"
	"testing"
)

func TestLookPathUsesGivenEnv(t *testing.T) {
	if p, err := LookPath("sh", []string{"PATH=/nowhere", "PATH=/bin:/usr/bin"}); err != nil || (p != "/bin/sh" && p != "/usr/bin/sh") {
		t.Errorf("sh: %q %v", p, err)
	}
	if _, err := LookPath("sh", []string{"HOME=/"}); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("no PATH: %v", err)
	}
	if p, err := LookPath("./x", nil); err != nil || p != "./x" {
		t.Errorf("with a slash: %q %v", p, err)
	}
	if env := Current().Env("xterm"); len(env) == 0 || env[0] != "PATH="+DefaultPath || env[len(env)-1] != "TERM=xterm" {
		t.Errorf("env: %q", env)
	}
}
