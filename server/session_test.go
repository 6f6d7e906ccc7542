package server

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestLoginCodeSingleUseAndExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSessionStore()
		code, exp, err := s.newCode()
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Until(exp); got != loginCodeTTL {
			t.Fatalf("code valid for %v, want %v", got, loginCodeTTL)
		}
		id, ok, err := s.redeem(code)
		if err != nil || !ok || !s.valid(id) {
			t.Fatalf("fresh code: %q %v %v", id, ok, err)
		}
		if _, ok, _ := s.redeem(code); ok {
			t.Fatal("a code worked twice")
		}

		late, _, _ := s.newCode()
		time.Sleep(loginCodeTTL - time.Nanosecond)
		early, _, _ := s.newCode()
		time.Sleep(time.Nanosecond)
		if _, ok, _ := s.redeem(late); ok {
			t.Fatal("an expired code worked")
		}
		if _, ok, _ := s.redeem(early); !ok {
			t.Fatal("a code within its minute failed")
		}
	})
}

func TestSessionIdleExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSessionStore()
		login := func() string {
			code, _, _ := s.newCode()
			id, ok, err := s.redeem(code)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			return id
		}
		busy, idle := login(), login()
		// Use keeps a session alive well past the idle limit.
		for range 3 {
			time.Sleep(sessionIdle / 2)
			if !s.valid(busy) {
				t.Fatal("a session in use expired")
			}
		}
		if s.valid(idle) {
			t.Fatal("an idle session survived")
		}
		if s.valid("") || s.valid(strings.Repeat("A", 43)) {
			t.Fatal("a made-up session is valid")
		}
	})
}

func TestSessionStoreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSessionStore()
		var ids []string
		for range maxSessions + 5 {
			code, _, _ := s.newCode()
			id, ok, _ := s.redeem(code)
			if !ok {
				t.Fatal("redeem failed")
			}
			ids = append(ids, id)
			time.Sleep(time.Second) // distinct last-use times
		}
		if len(s.sessions) != maxSessions {
			t.Fatalf("%d sessions kept, want %d", len(s.sessions), maxSessions)
		}
		if s.valid(ids[0]) || !s.valid(ids[len(ids)-1]) {
			t.Fatal("eviction did not drop the least recently used")
		}
		var codes []string
		for range maxLoginCodes + 5 {
			c, _, _ := s.newCode()
			codes = append(codes, c)
			time.Sleep(time.Millisecond)
		}
		if len(s.codes) != maxLoginCodes {
			t.Fatalf("%d codes kept, want %d", len(s.codes), maxLoginCodes)
		}
		if _, ok, _ := s.redeem(codes[0]); ok {
			t.Fatal("the oldest code survived the cap")
		}
	})
}

// TestSessionRoutesMatchSpec keeps sessionRoutes and the operations that
// list the "session" security scheme in step.
func TestSessionRoutesMatchSpec(t *testing.T) {
	doc, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	var inSpec []string
	for key, r := range newValidator(doc).routes {
		if r.Operation.Security == nil {
			continue
		}
		for _, req := range *r.Operation.Security {
			if _, ok := req["session"]; ok {
				inSpec = append(inSpec, key)
			}
		}
	}
	slices.Sort(inSpec)
	want := slices.Sorted(slices.Values(sessionRoutes))
	if !slices.Equal(inSpec, want) {
		t.Fatalf("spec grants the session %v, the guard %v", inSpec, want)
	}
}

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"/v1/vms", "/v1/vms", true},
		{"/v1/vms", "/v1/vms/", false},
		{"/v1/vms/{name}", "/v1/vms/default", true},
		{"/v1/vms/{name}", "/v1/vms/", false},
		{"/v1/vms/{name}", "/v1/vms/a/b", false},
		{"/v1/vms/{name}/start", "/v1/vms/x/start", true},
		{"/v1/vms/{name}/start", "/v1/vms/x/stop", false},
		{"/assets/{file}", "/assets/../token", false},
	} {
		if got := matchPattern(c.pattern, c.path); got != c.want {
			t.Errorf("matchPattern(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}
