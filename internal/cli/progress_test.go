package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/velocitty/microvm/api"
)

func TestSpin(t *testing.T) {
	out := newSyncBuffer()
	release := make(chan struct{})
	done := make(chan error, 1)
	boom := errors.New("boom")
	go func() {
		done <- spin(t.Context(), out, "starting VM work", time.Millisecond, func(context.Context) error {
			<-release
			return boom
		})
	}()
	out.waitFor(t, spinLine("starting VM work", 1, 0)[:10]) // the second frame
	close(release)
	if err := recv(t, done); !errors.Is(err, boom) {
		t.Fatalf("spin returned %v", err)
	}
	if s := out.String(); !strings.HasSuffix(s, "\r\033[K") || !strings.Contains(s, "starting VM work (") {
		t.Errorf("spinner output %q", s)
	}
	if got := spinLine("x", 0, 1500*time.Millisecond); got != "\r\033[K⠋ x (1.5s)" {
		t.Errorf("spinLine = %q", got)
	}
}

func TestProgressPlain(t *testing.T) {
	var out bytes.Buffer
	e := &env{stderr: &out}
	if err := e.progress(t.Context(), "stopping VM a", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "stopping VM a...\nstopping VM a: done in ") {
		t.Errorf("progress printed %q", out.String())
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		vm   api.VM
		want string
	}{
		{api.VM{State: "created", UpdatedAt: now.Add(-45 * time.Second)}, "45s"},
		{api.VM{State: "running", StartedAt: now.Add(-3 * time.Hour), UpdatedAt: now}, "3h"},
		{api.VM{State: "stopped", UpdatedAt: now.Add(-12 * time.Minute)}, "12m"},
		{api.VM{State: "stopped", UpdatedAt: now.Add(-100 * time.Hour)}, "4d"},
		{api.VM{State: "error", Reason: "guest exited", UpdatedAt: now}, "guest exited"},
		{api.VM{State: "created"}, "-"},
	} {
		if got := ageOrReason(tt.vm, now); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.vm, got, tt.want)
		}
	}
}

func TestGuestExit(t *testing.T) {
	var out bytes.Buffer
	e := &env{stderr: &out}
	for _, tt := range []struct {
		code     int
		signal   string
		timedOut bool
		want     int
	}{
		{0, "", false, 0}, {3, "", false, 3}, {-1, "killed", false, 137}, {-1, "terminated", false, 143},
		{-1, "odd", false, 255}, {-1, "", true, 124}, {300, "", false, 255},
	} {
		code, _ := ExitCode(e.guestExit(tt.code, tt.signal, tt.timedOut))
		if code != tt.want {
			t.Errorf("guestExit(%d, %q, %v) = %d, want %d", tt.code, tt.signal, tt.timedOut, code, tt.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		strict    bool
		pos, tail []string
		json      bool
	}{
		{[]string{"work", "--json"}, false, []string{"work"}, nil, true},
		{[]string{"--json", "a", "b"}, false, []string{"a", "b"}, nil, true},
		{[]string{"work", "--", "sh", "--json"}, false, []string{"work"}, []string{"sh", "--json"}, false},
		{[]string{"--", "--json"}, true, nil, []string{"--json"}, false},
		{[]string{"ls", "--json", "--", "x"}, true, []string{"ls", "--json", "--", "x"}, nil, false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		j := fs.Bool("json", false, "")
		pos, tail, err := parseArgs(fs, tt.args, tt.strict)
		if err != nil || !reflect.DeepEqual(pos, tt.pos) || !reflect.DeepEqual(tail, tt.tail) || *j != tt.json {
			t.Errorf("parseArgs(%q, %v) = %q %q json=%v %v", tt.args, tt.strict, pos, tail, *j, err)
		}
	}
}
