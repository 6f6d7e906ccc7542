package wsl

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/velocitty/microvm/errdefs"
)

const noDistros = "Windows Subsystem for Linux has no installed distributions.\nYou can resolve this by installing a distribution with the instructions below:\n\nUse 'wsl.exe --list --online' to list available distributions\nand 'wsl.exe --install <Distro>' to install.\n"

func TestParseVerbose(t *testing.T) {
	// The "%s %-{W}s%-16s%s" layout of the reference's -l -v section.
	out := "  NAME              STATE           VERSION\n" +
		"* Ubuntu            Stopped         2\n" +
		"  microvm-default   Running         2\n" +
		"  Legacy.Old_1      Stopped         1\n"
	got, err := parseVerbose(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []Distro{
		{Name: "Ubuntu", State: "Stopped", Version: 2, Default: true},
		{Name: "microvm-default", State: "Running", Version: 2},
		{Name: "Legacy.Old_1", State: "Stopped", Version: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := parseVerbose("garbage here\n"); !errors.Is(err, errdefs.ErrInternal) {
		t.Errorf("bad header: %v", err)
	}
}

func TestListZeroDistros(t *testing.T) {
	// "-l -q" succeeds with no output; "-l -v" would fail with -1.
	r, calls := fake(t, map[string]fakeResponse{
		"--list --quiet":   {UTF16: true},
		"--list --verbose": {Stdout: crlf(noDistros), UTF16: true, Exit: 255},
	}, 0)
	ds, err := r.List(context.Background())
	if err != nil || len(ds) != 0 {
		t.Fatalf("List = %v, %v", ds, err)
	}
	if c := calls(); len(c) != 1 {
		t.Errorf("calls = %q, want only -l -q", c)
	}
	if _, err := r.Find(context.Background(), "microvm-x"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Find = %v", err)
	}
}

func TestListUTF16(t *testing.T) {
	verbose := "  NAME              STATE           VERSION\n* Ubuntu            Stopped         2\n  microvm-default   Running         2\n"
	for _, bom := range []bool{false, true} {
		r, _ := fake(t, map[string]fakeResponse{
			"--list --quiet":   {Stdout: crlf("Ubuntu\nmicrovm-default\n"), UTF16: true, BOM: bom},
			"--list --verbose": {Stdout: crlf(verbose), UTF16: true, BOM: bom},
		}, 0)
		d, err := r.Find(context.Background(), "MICROVM-DEFAULT") // names compare case-insensitively
		if err != nil || d.State != StateRunning || d.Version != 2 {
			t.Errorf("bom=%v: Find = %+v, %v", bom, d, err)
		}
	}
}

func TestImportKeepsUsersDefault(t *testing.T) {
	before := "  NAME     STATE           VERSION\n* Ubuntu   Stopped         2\n"
	r, calls := fake(t, map[string]fakeResponse{
		"--list --quiet":   {Stdout: "Ubuntu\r\n"},
		"--list --verbose": {Stdout: crlf(before)},
		"--import microvm-a /data/a /img.tar --version 2": {Stdout: "The operation completed successfully.\r\n"},
	}, 0)
	if err := r.Import(context.Background(), "microvm-a", "/data/a", "/img.tar"); err != nil {
		t.Fatal(err)
	}
	for _, c := range calls() {
		if len(c) >= 13 && c[:13] == "--set-default" {
			t.Errorf("default changed although it was kept: %q", c)
		}
	}
	if err := r.Import(context.Background(), "bad name", "/d", "/i"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("invalid name: %v", err)
	}
}

func TestImportRestoresDefault(t *testing.T) {
	r, calls := fake(t, map[string]fakeResponse{
		"--list --quiet":     {Stdout: "Ubuntu\r\n"},
		"--list --verbose#1": {Stdout: crlf("  NAME      STATE           VERSION\n* Ubuntu    Stopped         2\n")},
		"--list --verbose#2": {Stdout: crlf("  NAME      STATE           VERSION\n* microvm-a Stopped         2\n  Ubuntu    Stopped         2\n")},
		"--import microvm-a /data/a /img.tar --version 2": {Stdout: "The operation completed successfully.\r\n"},
		"--set-default Ubuntu":                            {Stdout: "The operation completed successfully.\r\n"},
	}, 0)
	if err := r.Import(context.Background(), "microvm-a", "/data/a", "/img.tar"); err != nil {
		t.Fatal(err)
	}
	c := calls()
	if last := c[len(c)-1]; last != "--set-default Ubuntu\tWSL_UTF8=1" {
		t.Errorf("last call = %q, want the user's default restored", last)
	}
}
