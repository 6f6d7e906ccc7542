package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/velocitty/microvm/server"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRequestLog(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, func(c *server.Config) { c.Logger = log })
	e.call("GET", "/v1/vms?token="+testToken, "")
	e.call("POST", "/v1/vms/default/start", "")
	e.call("POST", "/v1/vpn/profiles", `{"name":"x","config":"client\n","password":"hunter2-secret"}`)
	// The logging response writer still streams events.
	stream, resp := e.events("")
	if ev, _ := stream.next(); ev.VM != "default" {
		t.Fatalf("event through the logging writer: %+v", ev)
	}
	resp.Body.Close()
	e.close()

	out := buf.String()
	for _, secret := range []string{testToken, "hunter2"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log contains a secret:\n%s", out)
		}
	}
	levels := map[string]string{}
	for line := range strings.Lines(out) {
		var rec struct {
			Level, Msg, Method, Path string
			Status, Bytes            int
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Msg != "http_request" {
			continue
		}
		if rec.Status == 0 || rec.Bytes == 0 {
			t.Errorf("incomplete request log: %s", line)
		}
		levels[rec.Method+" "+rec.Path] = rec.Level
	}
	wantLevels := map[string]string{
		"GET /v1/vms":                "DEBUG",
		"POST /v1/vms/default/start": "INFO",
		"POST /v1/vpn/profiles":      "INFO",
	}
	for k, v := range wantLevels {
		if levels[k] != v {
			t.Errorf("%s logged at %q, want %s (all: %v)", k, levels[k], v, levels)
		}
	}
}
