package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/velocitty/microvm/api"
)

// sse reads one server-sent event stream.
type sse struct {
	t  testing.TB
	sc *bufio.Scanner
}

func (e *env) events(lastID string) (*sse, *http.Response) {
	e.t.Helper()
	req := e.request("GET", "/v1/events", "")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		e.t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &sse{t: e.t, sc: bufio.NewScanner(resp.Body)}, resp
}

// next returns the next event, skipping comments; it also reports
// whether a keepalive comment came first.
func (s *sse) next() (ev api.Event, sawKeepalive bool) {
	s.t.Helper()
	var id, name, data string
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == ": keepalive":
			sawKeepalive = true
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				s.t.Fatalf("event data %q: %v", data, err)
			}
			if id == "" || name != string(ev.Type) || !ev.Type.Valid() {
				s.t.Fatalf("event framing: id %q event %q data %s", id, name, data)
			}
			return ev, sawKeepalive
		}
	}
	s.t.Fatalf("event stream ended: %v", s.sc.Err())
	return
}

func TestEventStream(t *testing.T) {
	e := newEnv(t)
	stream, _ := e.events("")
	// The default VM's creation is replayed first.
	first, _ := stream.next()
	if first.Type != api.EventTypeVMCreated || first.VM != "default" {
		t.Fatalf("first event = %+v", first)
	}
	want[api.VM](e, 200, "POST", "/v1/vms/default/start", "")
	var states []string
	for len(states) < 2 {
		ev, _ := stream.next()
		if ev.Type == api.EventTypeVMState && ev.VM == "default" {
			states = append(states, ev.State)
		}
	}
	if states[0] != "starting" || states[1] != "running" {
		t.Fatalf("states = %v", states)
	}
	want[api.VM](e, 200, "POST", "/v1/vms/default/start", "") // harmless, no event
	want[api.VM](e, 201, "POST", "/v1/vms", `{"name":"later"}`)
	ev, _ := stream.next()
	if ev.Type != api.EventTypeVMCreated || ev.VM != "later" {
		t.Fatalf("event = %+v", ev)
	}
}

func TestEventReplayAfterLastEventID(t *testing.T) {
	e := newEnv(t)
	want[api.VM](e, 201, "POST", "/v1/vms", `{"name":"a"}`)
	want[api.VM](e, 201, "POST", "/v1/vms", `{"name":"b"}`)
	stream, _ := e.events("")
	var ids []int64
	for range 3 {
		ev, _ := stream.next()
		ids = append(ids, ev.ID)
	}
	replay, _ := e.events(strconv.FormatInt(ids[1], 10))
	ev, _ := replay.next()
	if ev.ID != ids[2] || ev.VM != "b" {
		t.Fatalf("replay after %d gave %+v, want id %d", ids[1], ev, ids[2])
	}
}

func TestEventKeepalive(t *testing.T) {
	e := newEnv(t)
	stream, _ := e.events("")
	stream.next() // default created
	for stream.sc.Scan() {
		if stream.sc.Text() == ": keepalive" {
			return
		}
	}
	t.Fatal("no keepalive before the stream ended")
}
