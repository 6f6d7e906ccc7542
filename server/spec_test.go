package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/velocitty/microvm/server/internal/gen"
)

// TestRoutesMatchSpec checks that the generated router and the spec agree
// on every operation, so the validator never meets an unknown route, and
// that the guard's public paths are exactly the operations with no
// security requirement.
func TestRoutesMatchSpec(t *testing.T) {
	doc, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(doc)
	router := chi.NewRouter()
	gen.HandlerFromMux(gen.Unimplemented{}, router)
	registered := map[string]bool{}
	err = chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		registered[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range v.routes {
		if !registered[key] {
			t.Errorf("spec operation %s has no route", key)
		}
	}
	for key := range registered {
		if v.routes[key] == nil {
			t.Errorf("route %s is not in the spec", key)
		}
	}
	public := map[string]bool{}
	for key, r := range v.routes {
		if r.Operation.Security != nil && len(*r.Operation.Security) == 0 {
			_, path, _ := strings.Cut(key, " ")
			public[path] = true
		}
	}
	for p := range publicPaths {
		if !public[p] {
			t.Errorf("%s is public in the server but needs a token in the spec", p)
		}
	}
	for p := range public {
		if !publicPaths[p] {
			t.Errorf("%s is public in the spec but needs a token in the server", p)
		}
	}
}
