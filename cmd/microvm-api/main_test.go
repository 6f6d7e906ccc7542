package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/velocitty/microvm/internal/version"
)

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"version"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "microvm-api "+version.Version+"\n" {
		t.Fatalf("version printed %q", got)
	}
}

func TestServeRefuses(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--listen", "0.0.0.0:8421", "--data-dir", t.TempDir()}, "non-loopback"},
		{[]string{"serve", "--log-level", "loud"}, "--log-level"},
		{[]string{"serve", "--log-format", "xml"}, "--log-format"},
		{[]string{"serve", "extra"}, "unexpected argument"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		var out bytes.Buffer
		err := run(tt.args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.args, err, tt.want)
		}
	}
}
