package server

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// publicPaths need no token. The spec marks the same operations with
// "security: []"; a test keeps the two in step. Keys are spec paths, so
// "{file}" stands for one path segment.
var publicPaths = map[string]bool{
	"/v1/health":     true,
	"/openapi.yaml":  true,
	"/docs":          true,
	"/console":       true,
	"/console/login": true,
	"/assets/{file}": true,
}

// isPublic reports whether path is one of publicPaths.
func isPublic(path string) bool {
	if publicPaths[path] {
		return true
	}
	for p := range publicPaths {
		if strings.Contains(p, "{") && matchPattern(p, path) {
			return true
		}
	}
	return false
}

// guard holds the checks every request passes before routing: Host
// allowlist (DNS rebinding), browser origin, bearer token or console
// session.
type guard struct {
	hosts    map[string]bool // allowed Host header values
	origins  map[string]bool // allowed Origin header values
	token    []byte
	sessions *sessionStore
}

func newGuard(port int, listenHost, token string) *guard {
	g := &guard{
		hosts:    make(map[string]bool),
		origins:  make(map[string]bool),
		token:    []byte(token),
		sessions: newSessionStore(),
	}
	p := strconv.Itoa(port)
	names := []string{"127.0.0.1", "localhost", "[::1]"}
	if ip := net.ParseIP(listenHost); ip != nil && ip.IsLoopback() {
		// e.g. 127.0.0.2: the URL in api.json names it.
		host := ip.String()
		if ip.To4() == nil {
			host = "[" + host + "]"
		}
		names = append(names, host)
	}
	for _, h := range names {
		g.hosts[h+":"+p] = true
		g.origins["http://"+h+":"+p] = true
	}
	return g
}

// wrap returns next behind the checks, in order: Host, Origin, then the
// bearer token or, for the operations the console uses, a session
// cookie. It hands what it learned to the handlers as a caller.
func (g *guard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.hosts[strings.ToLower(r.Host)] {
			writeProblem(w, r, newProblem(http.StatusMisdirectedRequest, codeMisdirected,
				"the Host header does not name this daemon; use 127.0.0.1 or localhost with its port"))
			return
		}
		if !g.sameOrigin(r) {
			writeProblem(w, r, newProblem(http.StatusForbidden, codeForbiddenOrigin,
				"requests from other web origins are refused"))
			return
		}
		c := &caller{host: strings.ToLower(r.Host), sessions: g.sessions}
		c.bearer = g.authorized(r)
		c.session = !c.bearer && g.sessions.hasSession(r)
		switch {
		case c.bearer || isPublic(r.URL.Path):
		case c.session && sessionMayCall(r):
			// The cookie rides along on any request to this host, so a
			// state change or upgrade must prove it comes from our page.
			if sessionNeedsOrigin(r) && len(r.Header["Origin"]) == 0 {
				writeProblem(w, r, newProblem(http.StatusForbidden, codeForbiddenOrigin,
					"requests authenticated by the console session must carry the daemon's Origin"))
				return
			}
		default:
			writeProblem(w, r, newProblem(http.StatusUnauthorized, codeUnauthorized,
				"a valid bearer token is required; it is in the data directory's token file"))
			return
		}
		next.ServeHTTP(w, r.WithContext(withCaller(r.Context(), c)))
	})
}

// sameOrigin refuses browser requests made by pages of other origins.
// Non-browser clients send neither header and pass.
func (g *guard) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default: // cross-site, same-site: another local web app is not us
		return false
	}
	if o, ok := r.Header["Origin"]; ok {
		return len(o) == 1 && g.origins[strings.ToLower(o[0])]
	}
	return true
}

// authorized checks "Authorization: Bearer <token>" in constant time.
func (g *guard) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || len(g.token) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), g.token) == 1
}

// hardening are the headers of every response, keys in canonical form.
var hardening = map[string][]string{
	"Content-Security-Policy": {"default-src 'none'; frame-ancestors 'none'"},
	"X-Content-Type-Options":  {"nosniff"},
	"X-Frame-Options":         {"DENY"},
	"Referrer-Policy":         {"no-referrer"},
	"Cache-Control":           {"no-store"},
}

// headers sets the hardening headers on every response.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range hardening {
			h[k] = v // shared and never modified
		}
		next.ServeHTTP(w, r)
	})
}
