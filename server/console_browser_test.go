package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/velocitty/microvm/web/browsertest"
)

// pageTimeout bounds each wait for the page; Chromium on a busy CI
// machine needs a few seconds to render Swagger UI.
const pageTimeout = 30 * time.Second

func runPage(t *testing.T, b *browsertest.Browser, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, pageTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v; page problems: %q", err, b.Problems())
	}
}

// waitFor waits until a JavaScript expression is true in the page.
func waitFor(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return chromedp.Void{}, err
	}
}

// cspProblems returns what the browser reported about the policy or
// uncaught exceptions.
func cspProblems(b *browsertest.Browser) []string {
	var out []string
	for _, p := range b.Problems() {
		if strings.Contains(p, "CSP violation") || strings.Contains(p, "Content Security Policy") ||
			strings.Contains(p, "exception") {
			out = append(out, p)
		}
	}
	return out
}

// TestDocsPageInBrowser renders /docs in Chromium under its CSP.
func TestDocsPageInBrowser(t *testing.T) {
	e := newEnv(t)
	b := browsertest.New(t)
	runPage(t, b,
		chromedp.Navigate(e.url+"/docs"),
		// An operation's summary from the spec, rendered by Swagger UI.
		waitFor(`document.body.innerText.includes('Liveness probe') &&
			document.body.innerText.includes('Create a one-time browser login link')`),
	)
	if p := b.Problems(); len(p) > 0 {
		t.Fatalf("the reference page reported problems: %q", p)
	}
}

// TestConsolePageInBrowser logs a browser in through a one-time link and
// starts a VM from the console. The in-process daemon has no shell relay,
// so the console must report the failed connection and offer to retry.
func TestConsolePageInBrowser(t *testing.T) {
	e := newEnv(t)
	b := browsertest.New(t)

	runPage(t, b, chromedp.Navigate(e.url+"/console"),
		chromedp.WaitVisible(chromedp.ID("login-needed")))

	link := e.login(t)
	runPage(t, b,
		chromedp.Navigate(link.String()),
		chromedp.WaitReady(chromedp.CSS(`#vm option[value="default"]`)),
		chromedp.WaitVisible(chromedp.ID("start")),
	)
	if u, err := chromedp.Run(b.Ctx, chromedp.Location()); err != nil || !strings.HasSuffix(u, "/console#default") {
		t.Fatalf("after login the browser is at %q (%v)", u, err)
	}
	state := func() string {
		s, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.getElementById('state').textContent`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := state(); s != "created" {
		t.Fatalf("state shown %q", s)
	}
	runPage(t, b,
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.ID("reconnect")),
	)
	if s := state(); s != "running" {
		t.Fatalf("state shown after Start %q", s)
	}
	if vm, err := e.mgr.Get(t.Context(), "default"); err != nil || vm.State != "running" {
		t.Fatalf("the console's Start did not start the VM: %+v %v", vm, err)
	}
	text, err := chromedp.Run(b.Ctx, chromedp.TextContent(chromedp.ID("closed-text")))
	if err != nil || !strings.Contains(text, "Disconnected") {
		t.Fatalf("closed text %q %v", text, err)
	}

	// Logging out ends the session and shows how to log in again.
	runPage(t, b,
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("login-needed")),
	)
	if p := cspProblems(b); len(p) > 0 {
		t.Fatalf("the console reported problems: %q", p)
	}
}
