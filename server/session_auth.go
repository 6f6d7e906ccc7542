package server

import (
	"context"
	"net/http"
	"strings"
)

// sessionRoutes are the operations a console session cookie may call:
// the spec lists the "session" scheme on exactly these, and a test keeps
// the two in step. Everything else needs the bearer token.
var sessionRoutes = []string{
	"GET /v1/vms",
	"GET /v1/vms/{name}",
	"POST /v1/vms/{name}/start",
	"GET /v1/vms/{name}/shell",
	"POST /v1/console/logout",
}

// caller is what the guard learned about a request, for the handlers.
type caller struct {
	host     string // the request's Host, already checked
	bearer   bool   // authenticated by the bearer token
	session  bool   // authenticated by a console session cookie
	sessions *sessionStore
}

type callerKey struct{}

func withCaller(ctx context.Context, c *caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// callerFrom returns the guard's caller; every routed request has one.
func callerFrom(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// hasSession reports whether r carries the cookie of a live session.
func (s *sessionStore) hasSession(r *http.Request) bool {
	ck, err := r.Cookie(sessionCookie)
	return err == nil && s.valid(ck.Value)
}

// sessionMayCall reports whether a session cookie grants r.
func sessionMayCall(r *http.Request) bool {
	for _, route := range sessionRoutes {
		method, pattern, _ := strings.Cut(route, " ")
		if r.Method == method && matchPattern(pattern, r.URL.Path) {
			return true
		}
	}
	return false
}

// sessionNeedsOrigin reports whether a cookie-authenticated request must
// name its origin: anything that changes state, and websocket upgrades,
// which browsers send as GETs with the cookie attached.
func sessionNeedsOrigin(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return true
	}
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// matchPattern matches a path against a spec path such as
// "/v1/vms/{name}", where a parameter stands for one non-empty segment.
func matchPattern(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return false
			}
		} else if p != xs[i] {
			return false
		}
	}
	return true
}
