package vpn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/velocitty/microvm/errdefs"
)

func newTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vpn")
	s, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func ptr(s string) *string { return &s }

func TestStoreRoundTrip(t *testing.T) {
	ctx := t.Context()
	s, dir := newTestStore(t)
	pki := newTestPKI(t)
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.now = func() time.Time { return clock }

	p, created, err := s.Put(ctx, "work", PutInput{Config: []byte(pki.fullProfile()), Username: ptr("alice"), Password: ptr(`s3cret pa"ss`)})
	if err != nil || !created {
		t.Fatalf("Put = %v, created %v", err, created)
	}
	if !p.HasUsername || !p.HasPassword || p.Name != "work" || !p.CreatedAt.Equal(clock) || p.Summary.Cert.Subject != "CN=alice" {
		t.Errorf("Put returned %+v", p)
	}
	got, err := s.Get(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != p.Name || !got.UpdatedAt.Equal(p.UpdatedAt) || got.Summary.Remotes[1] != p.Summary.Remotes[1] || !got.HasPassword {
		t.Errorf("Get = %+v, want %+v", got, p)
	}
	user, pass, err := s.Credentials(ctx, "work")
	if err != nil || user != "alice" || pass != `s3cret pa"ss` {
		t.Errorf("Credentials = %q, %q, %v", user, pass, err)
	}
	cfg, err := s.Config(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	if want := mustParse(t, pki.fullProfile()).Render(); string(cfg) != string(want) {
		t.Errorf("Config differs from the rendering")
	}

	for _, sub := range []string{"", profilesDir, credentialsDir} {
		checkMode(t, filepath.Join(dir, sub), 0o700)
	}
	checkMode(t, filepath.Join(dir, profilesDir, "work.json"), 0o600)
	checkMode(t, filepath.Join(dir, credentialsDir, "work.json"), 0o600)
	record, err := os.ReadFile(filepath.Join(dir, profilesDir, "work.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(record), "s3cret") || strings.Contains(string(record), "alice\"") {
		t.Error("the profile record holds the credentials")
	}

	if err := s.Delete(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(dir, profilesDir, "work.json"), filepath.Join(dir, credentialsDir, "work.json")} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists after Delete: %v", filepath.Base(filepath.Dir(f)), err)
		}
	}
	if _, err := s.Get(ctx, "work"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", path, got, want)
	}
}

func TestStoreReplaceCredentials(t *testing.T) {
	ctx := t.Context()
	s, _ := newTestStore(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return t0 }
	cfg := []byte(minimalProfile)
	if _, _, err := s.Put(ctx, "p", PutInput{Config: cfg, Username: ptr("u1"), Password: ptr("p1")}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name       string
		in         PutInput
		user, pass string
	}{
		{"nil keeps both", PutInput{}, "u1", "p1"},
		{"new password only", PutInput{Password: ptr("p2")}, "u1", "p2"},
		{"empty clears", PutInput{Username: ptr("")}, "", "p2"},
		{"both cleared", PutInput{Password: ptr("")}, "", ""},
		{"set again", PutInput{Username: ptr("u3"), Password: ptr("p3")}, "u3", "p3"},
	}
	for i, st := range steps {
		s.now = func() time.Time { return t0.Add(time.Duration(i+1) * time.Hour) }
		st.in.Config = cfg
		p, created, err := s.Put(ctx, "p", st.in)
		if err != nil || created {
			t.Fatalf("%s: Put = %v, created %v", st.name, err, created)
		}
		user, pass, err := s.Credentials(ctx, "p")
		if err != nil || user != st.user || pass != st.pass {
			t.Errorf("%s: Credentials = %q, %q, %v; want %q, %q", st.name, user, pass, err, st.user, st.pass)
		}
		if p.HasUsername != (st.user != "") || p.HasPassword != (st.pass != "") {
			t.Errorf("%s: flags %v %v", st.name, p.HasUsername, p.HasPassword)
		}
		if !p.CreatedAt.Equal(t0) || !p.UpdatedAt.After(t0) {
			t.Errorf("%s: CreatedAt %v UpdatedAt %v", st.name, p.CreatedAt, p.UpdatedAt)
		}
	}
}

func TestStoreValidation(t *testing.T) {
	ctx := t.Context()
	s, _ := newTestStore(t)
	cfg := []byte(minimalProfile)
	tests := []struct {
		name, field string
		in          PutInput
	}{
		{"", "name", PutInput{Config: cfg}},
		{"../etc", "name", PutInput{Config: cfg}},
		{"a/b", "name", PutInput{Config: cfg}},
		{`a\b`, "name", PutInput{Config: cfg}},
		{".hidden", "name", PutInput{Config: cfg}},
		{"a..b", "name", PutInput{Config: cfg}},
		{strings.Repeat("a", 65), "name", PutInput{Config: cfg}},
		{"NUL", "name", PutInput{Config: cfg}},
		{"com1.vpn", "name", PutInput{Config: cfg}},
		{"ok", "username", PutInput{Config: cfg, Username: ptr("a\nb")}},
		{"ok", "password", PutInput{Config: cfg, Password: ptr("a\rb")}},
		{"ok", "password", PutInput{Config: cfg, Password: ptr("a\x00b")}},
		{"ok", "username", PutInput{Config: cfg, Username: ptr(strings.Repeat("u", MaxCredentialLength+1))}},
	}
	for _, tt := range tests {
		_, _, err := s.Put(ctx, tt.name, tt.in)
		var fe *errdefs.InvalidField
		if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("Put(%q) = %v, want an invalid %q", tt.name, err, tt.field)
		}
	}
	_, _, err := s.Put(ctx, "bad", PutInput{Config: []byte(minimalProfile + "up /bin/sh\n")})
	var de *DirectiveError
	if !errors.As(err, &de) || de.Line != 10 || de.Directive != "up" {
		t.Errorf("Put with up = %v, want a DirectiveError on line 10", err)
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after refused Puts = %v, %v", list, err)
	}
	for _, ok := range []string{"a", "Work-1", "corp.vpn_2", strings.Repeat("z", 64), "console"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v", ok, err)
		}
	}
}

func TestStoreNotFound(t *testing.T) {
	ctx := t.Context()
	s, _ := newTestStore(t)
	if _, err := s.Get(ctx, "none"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Get = %v", err)
	}
	if err := s.Delete(ctx, "none"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Delete = %v", err)
	}
	if _, _, err := s.Credentials(ctx, "none"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Credentials = %v", err)
	}
	if _, err := s.Config(ctx, "none"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Config = %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.List(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context = %v", err)
	}
}

func TestStoreCaseClash(t *testing.T) {
	ctx := t.Context()
	s, _ := newTestStore(t)
	if _, _, err := s.Put(ctx, "Work", PutInput{Config: []byte(minimalProfile)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(ctx, "work", PutInput{Config: []byte(minimalProfile)}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("Put(work) next to Work = %v, want ErrAlreadyExists", err)
	}
}

// TestStoreIgnoresStrays checks what an interrupted write leaves behind:
// temporary files are never listed and are removed when the store opens,
// and credentials orphaned by an interrupted Delete are not inherited.
func TestStoreIgnoresStrays(t *testing.T) {
	ctx := t.Context()
	s, dir := newTestStore(t)
	if _, _, err := s.Put(ctx, "keep", PutInput{Config: []byte(minimalProfile)}); err != nil {
		t.Fatal(err)
	}
	strays := []string{
		filepath.Join(dir, profilesDir, ".keep.json.tmp-123"),
		filepath.Join(dir, profilesDir, ".other.json.tmp-456"),
		filepath.Join(dir, credentialsDir, ".keep.json.tmp-789"),
	}
	for _, f := range strays {
		if err := os.WriteFile(f, []byte(`{"version":1,"name":"other","config":"torn`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"README", "not a name.json", "x.txt", "-x.json"} {
		if err := os.WriteFile(filepath.Join(dir, profilesDir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	orphan := filepath.Join(dir, credentialsDir, "new.json")
	if err := os.WriteFile(orphan, []byte(`{"username":"ghost","password":"ghost"}`), 0o600); err != nil {
		t.Fatal(err)
	}

	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "keep" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if _, err := NewStore(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range strays {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived reopening: %v", filepath.Base(f), err)
		}
	}
	p, _, err := s.Put(ctx, "new", PutInput{Config: []byte(minimalProfile)})
	if err != nil || p.HasUsername || p.HasPassword {
		t.Errorf("new profile = %+v, %v; want no inherited credentials", p, err)
	}
}

func TestStoreRefusesTamperedConfig(t *testing.T) {
	ctx := t.Context()
	s, dir := newTestStore(t)
	if _, _, err := s.Put(ctx, "p", PutInput{Config: []byte(minimalProfile)}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, profilesDir, "p.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(string(data), `client\n`, `client\nup /bin/sh\n`, 1)
	if tampered == string(data) {
		t.Fatal("test did not alter the record")
	}
	if err := os.WriteFile(path, []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Config(ctx, "p"); !errors.Is(err, errdefs.ErrPrecondition) {
		t.Errorf("Config of a tampered record = %v, want ErrPrecondition", err)
	}
}

func TestStoreConcurrent(t *testing.T) {
	ctx := t.Context()
	s, _ := newTestStore(t)
	const writers, rounds = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds*2)
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				name := fmt.Sprintf("p%d", w%4) // writers share names
				pass := fmt.Sprintf("pass-%d-%d", w, r)
				if _, _, err := s.Put(ctx, name, PutInput{Config: []byte(minimalProfile), Username: ptr("u"), Password: &pass}); err != nil {
					errs <- err
				}
				if _, err := s.List(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 4 {
		t.Fatalf("List = %d profiles, %v", len(list), err)
	}
	for i, p := range list {
		if want := fmt.Sprintf("p%d", i); p.Name != want || !p.HasPassword {
			t.Errorf("list[%d] = %+v, want %s with a password", i, p, want)
		}
	}
}

func TestStoreReplacesCorruptRecord(t *testing.T) {
	ctx := t.Context()
	s, dir := newTestStore(t)
	if _, _, err := s.Put(ctx, "p", PutInput{Config: []byte(minimalProfile), Password: ptr("pw")}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, profilesDir, "p.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "p"); !errors.Is(err, errdefs.ErrInternal) {
		t.Errorf("Get of a corrupt record = %v, want ErrInternal", err)
	}
	p, created, err := s.Put(ctx, "p", PutInput{Config: []byte(minimalProfile)})
	if err != nil || created || !p.HasPassword {
		t.Fatalf("Put over a corrupt record = %+v, created %v, %v", p, created, err)
	}
	if _, err := s.Get(ctx, "p"); err != nil {
		t.Errorf("Get after the repair = %v", err)
	}
}
