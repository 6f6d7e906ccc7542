package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/server/internal/gen"
)

// rawRoutes serves the event stream, which needs the ResponseWriter
// itself, and delegates the rest to the strict handler (shellRoutes adds
// the websocket upgrade on top).
type rawRoutes struct {
	gen.ServerInterface
	h    *handlers
	errs errorWriter
}

// StreamEvents serves /v1/events as server-sent events: an id and event
// name per change, replay after Last-Event-ID, and keepalive comments.
func (rr rawRoutes) StreamEvents(w http.ResponseWriter, r *http.Request, params api.StreamEventsParams) {
	src := rr.h.cfg.Events
	if src == nil {
		rr.errs.write(w, r, notImplemented("the event stream"))
		return
	}
	var after uint64
	if params.LastEventID != "" {
		var err error
		if after, err = strconv.ParseUint(params.LastEventID, 10, 64); err != nil {
			rr.errs.write(w, r, errdefs.Invalidf("Last-Event-ID", "must be a decimal event id"))
			return
		}
	}
	ctx := r.Context()
	events, err := src.Subscribe(ctx, after)
	if err != nil {
		rr.errs.write(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	// The stream outlives any server write timeout.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && err != http.ErrNotSupported {
		rr.errs.write(w, r, fmt.Errorf("event stream: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": connected\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(rr.h.cfg.Heartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_, err = fmt.Fprint(w, ": keepalive\n\n")
		case e, ok := <-events:
			if !ok {
				return // too slow, or shutting down: the client reconnects
			}
			err = writeEvent(w, toEvent(e))
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

func writeEvent(w http.ResponseWriter, e api.Event) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
	return err
}
