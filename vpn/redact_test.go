package vpn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestNoSecretsLogged logs and prints every public value that could hold
// a secret and checks that neither the password nor the private key shows.
func TestNoSecretsLogged(t *testing.T) {
	ctx := t.Context()
	s, _ := newTestStore(t)
	pki := newTestPKI(t)
	const password = "hunter2-very-secret"
	in := PutInput{Config: []byte(pki.fullProfile()), Username: ptr("alice"), Password: ptr(password)}
	p, _, err := s.Put(ctx, "work", in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, pki.fullProfile())

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		log := slog.New(h)
		log.Info("profile_saved", "profile", p, "input", in, "config", cfg, "listed", list, "got", got)
		log.Info("profile_summary", "summary", cfg.Summary())
	}
	fmt.Fprintf(&buf, "%v %+v %#v %s %v %+v %#v\n", cfg, cfg, cfg, cfg, in, in, in)
	fmt.Fprintf(&buf, "%v %+v %#v\n", p, got, list)
	j, err := json.Marshal(struct {
		P    Profile
		G    Profile
		L    []Profile
		C    *Config
		Summ Summary
	}{p, got, list, cfg, cfg.Summary()})
	if err != nil {
		t.Fatal(err)
	}
	buf.Write(j)

	out := buf.String()
	keyBody := strings.Split(pki.keyPEM, "\n")[1]
	staticLine := strings.Split(pki.staticKey, "\n")[5]
	for name, secret := range map[string]string{
		"password": password, "private key": keyBody, "key header": "PRIVATE KEY", "tls-crypt key": staticLine,
	} {
		if strings.Contains(out, secret) {
			t.Errorf("output carries the %s", name)
		}
	}
	for _, want := range []string{"work", "has_password", "vpn1.example.net:1194/udp"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q; redaction hides too much:\n%s", want, out)
		}
	}
}
