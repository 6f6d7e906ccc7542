package wsl

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/errdefs"
)

func TestRunSetsUTF8AndDecodes(t *testing.T) {
	r, calls := fake(t, map[string]fakeResponse{
		"--status": {Stdout: crlf("Default Distribution: Ubuntu\nDefault Version: 2\n"), UTF16: true},
	}, 0)
	out, err := r.Run(context.Background(), "--status")
	if err != nil || out != "Default Distribution: Ubuntu\nDefault Version: 2\n" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	if c := calls(); len(c) != 1 || !strings.HasSuffix(c[0], "WSL_UTF8=1") {
		t.Errorf("calls = %q, want WSL_UTF8=1 set", c)
	}
}

func TestRunErrorCarriesArgvOutputCode(t *testing.T) {
	r, _ := fake(t, map[string]fakeResponse{
		"--terminate nope": {Stdout: crlf("There is no distribution with the supplied name.\nError code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND\n"), UTF16: true, Exit: 255},
	}, 0)
	err := r.Terminate(context.Background(), "nope")
	var we *Error
	if !errors.As(err, &we) || !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Terminate = %v, want a not-found *Error", err)
	}
	if we.Code != CodeDistroNotFound || we.ExitCode != 255 || we.Argv[1] != "--terminate" ||
		!strings.Contains(we.Output, "There is no distribution") {
		t.Errorf("error = %+v", we)
	}
}

func TestNormalizeExit(t *testing.T) {
	if got := normalizeExit(4294967295); got != -1 {
		t.Errorf("normalizeExit(0xffffffff) = %d", got)
	}
	if got := normalizeExit(3); got != 3 {
		t.Errorf("normalizeExit(3) = %d", got)
	}
}

func TestRunTimesOut(t *testing.T) {
	r, _ := fake(t, map[string]fakeResponse{"--list --quiet": {Stall: true}}, 300*time.Millisecond)
	// A far caller deadline does not lift the runner's own bound.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := r.List(ctx)
	if !errors.Is(err, errdefs.ErrTimeout) || !strings.Contains(err.Error(), "WslService") {
		t.Fatalf("List = %v, want a timeout with a hint", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestRunRefusesShutdown(t *testing.T) {
	r, calls := fake(t, map[string]fakeResponse{"--shutdown": {}}, 0)
	for _, args := range [][]string{{"--shutdown"}, {"--SHUTDOWN", "--force"}} {
		if _, err := r.Run(context.Background(), args...); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("Run(%q) = %v, want refused", args, err)
		}
	}
	if c := calls(); len(c) != 0 {
		t.Errorf("wsl.exe was started: %q", c)
	}
	// After --exec, "--shutdown" is the Linux program's argument.
	r2, calls2 := fake(t, map[string]fakeResponse{"--distribution d --user root --exec echo --shutdown": {Stdout: "--shutdown\n"}}, 0)
	out, _, err := r2.Exec(context.Background(), "d", "root", nil, "echo", "--shutdown")
	if err != nil || string(out) != "--shutdown\n" || len(calls2()) != 1 {
		t.Errorf("Exec = %q, %v", out, err)
	}
}

func TestRunMissingExe(t *testing.T) {
	r := NewRunner(t.TempDir()+"/wsl.exe", 0, nil)
	_, err := r.Run(context.Background(), "--status")
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "--install") {
		t.Errorf("Run = %v, want unavailable with an install hint", err)
	}
}

func TestExecSeparatesProgramAndWSLFailures(t *testing.T) {
	r, _ := fake(t, map[string]fakeResponse{
		"--distribution d --user root --exec false":   {Stderr: "boom", Exit: 1},
		"--distribution d --user root --exec /x":      {Stdout: "There is no distribution with the supplied name.\r\nError code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND\r\n", Exit: 255},
		"--distribution d --user root --exec exit255": {Stdout: "Wsl/ not a code line but exit 255 from Linux\n", Exit: 254},
	}, 0)
	_, stderr, err := r.Exec(context.Background(), "d", "root", nil, "false")
	var we *Error
	if !errors.As(err, &we) || we.Code != "" || we.ExitCode != 1 || !bytes.Equal(stderr, []byte("boom")) {
		t.Errorf("program failure: %+v %q", err, stderr)
	}
	_, _, err = r.Exec(context.Background(), "d", "root", nil, "/x")
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("wsl failure: %v", err)
	}
	_, _, err = r.Exec(context.Background(), "d", "root", nil, "exit255")
	if !errors.As(err, &we) || we.Code != "" {
		t.Errorf("program output looking like a code: %+v", err)
	}
}
