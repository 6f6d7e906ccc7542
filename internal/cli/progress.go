package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"golang.org/x/term"
)

// isTerminal reports whether the stream is a terminal.
func isTerminal(v any) bool {
	fd, ok := fdOf(v)
	return ok && term.IsTerminal(fd)
}

// progress runs fn while showing label on stderr: a spinner with the
// elapsed time on a terminal, plain lines otherwise. An empty label shows
// nothing.
func (e *env) progress(ctx context.Context, label string, fn func(context.Context) error) error {
	if label == "" {
		return fn(ctx)
	}
	if !isTerminal(e.stderr) {
		fmt.Fprintf(e.stderr, "%s...\n", label)
		start := time.Now()
		err := fn(ctx)
		if err == nil {
			fmt.Fprintf(e.stderr, "%s: done in %s\n", label, time.Since(start).Round(100*time.Millisecond))
		}
		return err
	}
	return spin(ctx, e.stderr, label, 100*time.Millisecond, fn)
}

var spinnerFrames = []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

// spinLine is the spinner's line after elapsed, at frame i.
func spinLine(label string, i int, elapsed time.Duration) string {
	return fmt.Sprintf("\r\033[K%c %s (%s)", spinnerFrames[i%len(spinnerFrames)], label, elapsed.Truncate(100*time.Millisecond))
}

// spin redraws a spinner line on w every tick until fn returns, then
// clears it.
func spin(ctx context.Context, w io.Writer, label string, tick time.Duration, fn func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	start := time.Now()
	t := time.NewTicker(tick)
	defer t.Stop()
	for i := 0; ; i++ {
		fmt.Fprint(w, spinLine(label, i, time.Since(start)))
		select {
		case err := <-done:
			fmt.Fprint(w, "\r\033[K")
			return err
		case <-t.C:
		}
	}
}
