package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/server/internal/gen"
	"github.com/velocitty/microvm/web"
)

// codeLoginExpired answers a console login link that is used up.
const codeLoginExpired = "login_expired"

// pagePolicy is the Content-Security-Policy of the HTML pages: scripts,
// styles and connections (the shell websocket included) only from the
// daemon itself, and no inline script.
const pagePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// consolePolicy relaxes pagePolicy for the terminal: xterm.js sizes its
// rows with <style> elements it writes at run time, so styles may be
// inline there. Styles cannot run script.
var consolePolicy = strings.Replace(pagePolicy, "style-src 'self'", "style-src 'self' 'unsafe-inline'", 1)

// assetTypes are the media types of the files under /assets/.
var assetTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".txt": "text/plain; charset=utf-8",
}

// CreateConsoleLogin mints a one-time login link. The guard only lets
// the bearer token through to it: a session cannot extend itself.
func (h *handlers) CreateConsoleLogin(ctx context.Context, _ gen.CreateConsoleLoginRequestObject) (gen.CreateConsoleLoginResponseObject, error) {
	c := callerFrom(ctx)
	if c == nil || !c.bearer {
		return nil, fmt.Errorf("console login: %w", errdefs.ErrUnauthorized)
	}
	code, exp, err := c.sessions.newCode()
	if err != nil {
		return nil, fmt.Errorf("console login: %w", err)
	}
	// The link names the host the CLI reached us by, which the guard
	// accepted; the cookie belongs to that host name.
	u := url.URL{Scheme: "http", Host: c.host, Path: "/console/login", RawQuery: url.Values{"code": {code}}.Encode()}
	return gen.CreateConsoleLogin200JSONResponse{URL: u.String(), ExpiresAt: exp.UTC()}, nil
}

// RedeemConsoleLogin trades a login code for a session cookie and sends
// the browser on to the console.
func (rr rawRoutes) RedeemConsoleLogin(w http.ResponseWriter, r *http.Request, params api.RedeemConsoleLoginParams) {
	c := callerFrom(r.Context())
	id, ok, err := c.sessions.redeem(params.Code)
	if err != nil {
		rr.errs.write(w, r, fmt.Errorf("console login: %w", err))
		return
	}
	if !ok {
		p := newProblem(http.StatusForbidden, codeLoginExpired,
			"this login link was used already or has expired; run `microvm-api console` for a new one")
		p.Title = "Login link expired"
		writeProblem(w, r, p)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		// No Secure: the daemon speaks plain HTTP on loopback.
	})
	w.Header().Set("Location", "/console")
	w.WriteHeader(http.StatusSeeOther)
}

// ConsoleLogout ends the session of the cookie sent and clears it.
func (rr rawRoutes) ConsoleLogout(w http.ResponseWriter, r *http.Request) {
	c := callerFrom(r.Context())
	if ck, err := r.Cookie(sessionCookie); err == nil && c.session {
		c.sessions.end(ck.Value)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Path:     "/",
		MaxAge:   -1, // Max-Age=0: delete now
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	w.WriteHeader(http.StatusNoContent)
}

// GetConsole serves the console to a logged-in browser and a page that
// explains how to log in to any other.
func (rr rawRoutes) GetConsole(w http.ResponseWriter, r *http.Request) {
	c := callerFrom(r.Context())
	if c.session || c.bearer {
		rr.servePage(w, r, "console", consolePolicy)
		return
	}
	rr.servePage(w, r, "login", pagePolicy)
}

// GetDocs serves the API reference page.
func (rr rawRoutes) GetDocs(w http.ResponseWriter, r *http.Request) {
	rr.servePage(w, r, "docs", pagePolicy)
}

func (rr rawRoutes) servePage(w http.ResponseWriter, r *http.Request, name, policy string) {
	b, err := web.Page(name)
	if err != nil {
		rr.errs.write(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", policy)
	h.Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// GetAsset serves a script, style sheet or license of the pages.
func (rr rawRoutes) GetAsset(w http.ResponseWriter, r *http.Request, file string) {
	ctype, known := assetTypes[path.Ext(file)]
	b, err := web.Asset(file)
	if errors.Is(err, fs.ErrNotExist) || !known {
		rr.errs.write(w, r, fmt.Errorf("asset %s: %w", file, errdefs.ErrNotFound))
		return
	}
	if err != nil {
		rr.errs.write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// The page routes are served by rawRoutes above, which needs the
// ResponseWriter; the strict versions are never called.

func (h *handlers) GetDocs(context.Context, gen.GetDocsRequestObject) (gen.GetDocsResponseObject, error) {
	return nil, notImplemented("the API reference page")
}

func (h *handlers) GetConsole(context.Context, gen.GetConsoleRequestObject) (gen.GetConsoleResponseObject, error) {
	return nil, notImplemented("the browser console")
}

func (h *handlers) RedeemConsoleLogin(context.Context, gen.RedeemConsoleLoginRequestObject) (gen.RedeemConsoleLoginResponseObject, error) {
	return nil, notImplemented("the console login")
}

func (h *handlers) ConsoleLogout(context.Context, gen.ConsoleLogoutRequestObject) (gen.ConsoleLogoutResponseObject, error) {
	return nil, notImplemented("the console logout")
}

func (h *handlers) GetAsset(context.Context, gen.GetAssetRequestObject) (gen.GetAssetResponseObject, error) {
	return nil, notImplemented("the page assets")
}
