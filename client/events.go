package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/velocitty/microvm/api"
)

// EventStream reads the daemon's server-sent events.
type EventStream struct {
	body io.ReadCloser
	sc   *bufio.Scanner
}

// Events opens the event stream. Events with an ID above after that the
// daemon still holds are replayed first; pass the last ID seen to resume.
// The stream ends when ctx ends or Close is called.
func (c *Client) Events(ctx context.Context, after uint64) (*EventStream, error) {
	var params *api.StreamEventsParams
	if after > 0 {
		params = &api.StreamEventsParams{LastEventID: strconv.FormatUint(after, 10)}
	}
	resp, err := c.gen.StreamEvents(ctx, params)
	if err != nil {
		return nil, c.transportError("events", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, responseError("events", resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 4096), 1<<20)
	return &EventStream{body: resp.Body, sc: sc}, nil
}

// Next blocks until the next event. It returns io.EOF when the daemon
// ended the stream (it shut down, or this reader was too slow: reconnect
// with the last ID).
func (s *EventStream) Next() (api.Event, error) {
	var data strings.Builder
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		case line == "" && data.Len() > 0:
			var e api.Event
			if err := json.Unmarshal([]byte(data.String()), &e); err != nil {
				return e, fmt.Errorf("events: decode: %w", err)
			}
			return e, nil
		}
	}
	if err := s.sc.Err(); err != nil {
		return api.Event{}, fmt.Errorf("events: %w", err)
	}
	return api.Event{}, io.EOF
}

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }
