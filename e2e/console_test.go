//go:build e2e && linux

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/velocitty/microvm/web/browsertest"
)

// TestConsoleInBrowser logs a real Chromium in to the real daemon with a
// one-time link, starts the default VM from the console and works in its
// shell: typing, output, resizing, exit and reconnect. It also renders
// the API reference. Screenshots land in the test's artifacts.
func TestConsoleInBrowser(t *testing.T) {
	bin := binDir(t)
	d := startDaemon(t, bin, t.TempDir())
	// Guests outlive the daemon by design: stop the one the console
	// starts before the daemon goes.
	killed := false
	killDefault := func() {
		if killed {
			return
		}
		if code, body := d.curl("POST", "/v1/vms/default/kill", ""); code != 200 {
			t.Errorf("kill the default VM: %d %s", code, body)
		}
		killed = true
	}
	t.Cleanup(killDefault)
	b := browsertest.New(t)
	// rows is the terminal's rendered text.
	const rows = `document.querySelector('.xterm-rows').textContent`
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(b.Ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(artifacts(t), name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(b.Ctx, timeout)
		defer cancel()
		if err := chromedp.Do(ctx, steps...); err != nil {
			screenshot("failure.png")
			text, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("browser: %v\npage problems: %q\npage text:\n%s", err, b.Problems(), text)
		}
	}

	// The CLI's part: a login link, minted with the token.
	code, body := d.curl("POST", "/v1/console/login", "")
	var login struct {
		URL string `json:"url"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &login) != nil {
		t.Fatalf("POST /v1/console/login: %d %s", code, body)
	}
	if !strings.HasPrefix(login.URL, d.URL+"/console/login?code=") {
		t.Fatalf("login URL %q is not on %s", login.URL, d.URL)
	}

	run(30*time.Second,
		chromedp.Navigate(login.URL),
		chromedp.WaitReady(chromedp.CSS(`#vm option[value="default"]`)),
		chromedp.WaitVisible(chromedp.ID("start")),
	)
	// Starting the guest unpacks its image the first time.
	run(3*time.Minute,
		chromedp.Click(chromedp.ID("start")),
		waitJS(`document.getElementById('state').textContent === 'running'`),
		chromedp.WaitReady(chromedp.CSS(`.xterm-rows`)),
		waitJS(`term.buffer.active.cursorX > 0`), // the prompt
	)
	mark := rand.Text()[:10]
	// The typed line shows $((6*7)); only the shell's output shows 42.
	run(30*time.Second,
		typeLine("echo hello-$((6*7))-"+mark),
		waitJS(fmt.Sprintf(`%s.includes('hello-42-%s')`, rows, mark)),
	)
	screenshot("console.png")

	// Resizing the window resizes the PTY.
	run(30*time.Second,
		chromedp.EmulateViewport(760, 420),
		waitJS(`term.cols < 100`),
		typeLine("stty size"),
		waitJS(rows+".includes(`${term.rows} ${term.cols}`)"),
	)
	screenshot("console-resized.png")

	// Exiting the shell shows its status and offers to reconnect.
	run(30*time.Second,
		typeLine("exit 3"),
		chromedp.WaitVisible(chromedp.ID("reconnect")),
	)
	text, err := chromedp.Run(b.Ctx, chromedp.TextContent(chromedp.ID("closed-text")))
	if err != nil || !strings.Contains(text, "exited with code 3") {
		t.Fatalf("after exit the console says %q (%v)", text, err)
	}
	screenshot("console-exited.png")
	mark = rand.Text()[:10]
	run(30*time.Second,
		chromedp.Click(chromedp.ID("reconnect")),
		chromedp.WaitNotVisible(chromedp.ID("closed")),
		waitJS(`term.buffer.active.cursorX > 0`), // a prompt
		typeLine("echo again-$((6*7))-"+mark),
		waitJS(fmt.Sprintf(`%s.includes('again-42-%s')`, rows, mark)),
	)

	// The API reference renders the spec.
	run(30*time.Second,
		chromedp.Navigate(d.URL+"/docs"),
		waitJS(`document.body.innerText.includes('Interactive shell (websocket)')`),
	)
	screenshot("docs.png")

	// Sessions live in the daemon's memory: after a restart the browser
	// must log in again, although it still sends its cookie.
	d.stop()
	d.start()
	t.Cleanup(killDefault) // before the new daemon stops
	run(30*time.Second,
		chromedp.Navigate(d.URL+"/console"),
		chromedp.WaitVisible(chromedp.ID("login-needed")),
	)
	screenshot("login-needed.png")

	for _, p := range b.Problems() {
		if strings.Contains(p, "Content Security Policy") || strings.Contains(p, "CSP violation") ||
			strings.Contains(p, "exception") {
			t.Errorf("page problem: %s", p)
		}
	}
}

// waitJS waits until a JavaScript expression is true in the page.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return chromedp.Void{}, err
	}
}

// typeLine types s and Enter into the focused terminal as a keyboard
// does: one keydown with its text, then keyup, per key.
func typeLine(s string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Focus(chromedp.CSS(`.xterm-helper-textarea`))(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		press := func(key, text string, code int64) error {
			down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: key, Text: text, WindowsVirtualKeyCode: code}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, down); err != nil {
				return fmt.Errorf("key %q down: %w", key, err)
			}
			up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: key, WindowsVirtualKeyCode: code}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, up); err != nil {
				return fmt.Errorf("key %q up: %w", key, err)
			}
			return nil
		}
		for _, r := range s {
			if err := press(string(r), string(r), 0); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Void{}, press("Enter", "\r", 13)
	}
}
