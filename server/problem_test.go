package server

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/vpn"
)

func TestProblemFor(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("op: %w", err) }
	tests := []struct {
		err      error
		status   int
		code     string
		internal bool
	}{
		{wrap(errdefs.ErrInvalid), 400, "invalid_request", false},
		{wrap(errdefs.Invalidf("name", "bad")), 400, "invalid_request", false},
		{wrap(errdefs.ErrNotFound), 404, "not_found", false},
		{wrap(&errdefs.StateError{Op: "pause", Current: "stopped"}), 409, "invalid_state", false},
		{wrap(errdefs.ErrAlreadyExists), 409, "already_exists", false},
		{wrap(errdefs.ErrPortInUse), 409, "port_in_use", false},
		{wrap(errdefs.ErrConflict), 409, "conflict", false},
		{wrap(errdefs.ErrPrecondition), 412, "precondition_failed", false},
		{wrap(errdefs.ErrUnavailable), 503, "unavailable", false},
		{backendError{wrap(errdefs.ErrUnavailable)}, 503, "backend_unavailable", false},
		{backendError{wrap(errdefs.ErrNotFound)}, 404, "not_found", false},
		{wrap(errdefs.ErrNotImplemented), 501, "not_implemented", false},
		{wrap(errdefs.ErrUnsupported), 501, "not_implemented", false},
		{wrap(errdefs.ErrTimeout), 504, "timeout", false},
		{wrap(errdefs.ErrTooLarge), 413, "too_large", false},
		{wrap(&http.MaxBytesError{Limit: 10}), 413, "too_large", false},
		{wrap(errdefs.ErrUnauthorized), 401, "unauthorized", false},
		{wrap(errdefs.ErrNoSpace), 507, "insufficient_storage", false},
		{wrap(&vpn.DirectiveError{Line: 4, Directive: "up", Reason: "runs programs"}), 422, "profile_directive_refused", false},
		{wrap(errdefs.ErrInternal), 500, "internal", true},
		{errors.New("surprise"), 500, "internal", true},
	}
	for _, tt := range tests {
		p, internal := problemFor(tt.err)
		if p.Status != tt.status || p.Code != tt.code || internal != tt.internal || p.Title == "" {
			t.Errorf("%v: got %d %s internal=%v, want %d %s %v", tt.err, p.Status, p.Code, internal, tt.status, tt.code, tt.internal)
		}
	}
	p, _ := problemFor(wrap(errdefs.Invalidf("backend", "unknown")))
	if p.Field != "backend" {
		t.Errorf("field = %q", p.Field)
	}
	p, _ = problemFor(wrap(&errdefs.StateError{Op: "pause", Current: "stopped"}))
	if p.CurrentState != "stopped" {
		t.Errorf("currentState = %q", p.CurrentState)
	}
	p, _ = problemFor(wrap(&vpn.DirectiveError{Line: 4, Directive: "up"}))
	if p.Line != 4 || p.Directive != "up" {
		t.Errorf("directive problem = %+v", p)
	}
	if p, internal := problemFor(errors.New("secret path /etc/x")); !internal || p.Detail == "secret path /etc/x" {
		t.Errorf("internal detail leaked: %+v", p)
	}
	for code := range titles {
		if p := newProblem(400, code, ""); p.Title == "" || p.Type != "urn:microvm:problem:"+code {
			t.Errorf("code %s: %+v", code, p)
		}
		if !bytes.Contains(api.Spec(), []byte("| `"+code+"` |")) {
			t.Errorf("code %s is missing from the spec's table of codes", code)
		}
	}
}

func TestDecodeProblem(t *testing.T) {
	if p := decodeProblem(fmt.Errorf("decode: %w", &http.MaxBytesError{Limit: 5})); p.Status != 413 {
		t.Errorf("too large: %+v", p)
	}
	if p := decodeProblem(errors.New("unexpected EOF")); p.Status != 400 || p.Code != codeInvalid {
		t.Errorf("bad body: %+v", p)
	}
}
