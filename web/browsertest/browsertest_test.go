package browsertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestReportsViolations checks that the browser reports what page tests
// rely on it to catch: a CSP violation and an uncaught exception.
func TestReportsViolations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/throw.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write([]byte(`document.title = 'ran'; throw new Error('boom');`))
		default:
			w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'")
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<!doctype html><script>document.title = 'inline ran'</script><script src="/throw.js"></script>`))
		}
	}))
	t.Cleanup(srv.Close)
	b := New(t)
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || title != "ran" {
		t.Fatalf("title %q %v: the inline script ran or the file did not", title, err)
	}
	found := func(s string) bool {
		return strings.Contains(strings.Join(b.Problems(), "\n"), s)
	}
	// The messages arrive asynchronously; wait for both.
	for deadline := time.Now().Add(10 * time.Second); !found("CSP violation") || !found("boom"); {
		if time.Now().After(deadline) {
			t.Fatalf("problems %q lack the violation or the exception", b.Problems())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
