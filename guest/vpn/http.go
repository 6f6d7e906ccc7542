package vpn

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/guest/agentapi"
)

// maxRequest bounds a PUT body: the profile plus credentials.
const maxRequest = maxConfig + 64<<10

// Handler serves agentapi.PathVPN for s: GET the status, PUT a
// VPNConnect (202 and the status), DELETE to disconnect. It does no
// authentication: mount it behind the agent's.
func Handler(s *Supervisor) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			st, err := watch(r, s)
			if err != nil {
				writeError(w, http.StatusBadRequest, agentapi.CodeInvalid, err.Error())
				return
			}
			writeJSON(w, http.StatusOK, st)
		case http.MethodPut:
			var req agentapi.VPNConnect
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequest))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					writeError(w, http.StatusRequestEntityTooLarge, agentapi.CodeTooLarge, "request body too large")
					return
				}
				writeError(w, http.StatusBadRequest, agentapi.CodeInvalid, "decode request: "+err.Error())
				return
			}
			if err := s.Connect(r.Context(), req); err != nil {
				status, code := http.StatusInternalServerError, agentapi.CodeInternal
				switch {
				case errors.Is(err, errdefs.ErrInvalid):
					status, code = http.StatusBadRequest, agentapi.CodeInvalid
				case errors.Is(err, errdefs.ErrUnsupported), errors.Is(err, errdefs.ErrUnavailable):
					status, code = http.StatusServiceUnavailable, agentapi.CodeUnavailable
				}
				writeError(w, status, code, err.Error())
				return
			}
			writeJSON(w, http.StatusAccepted, s.Status())
		case http.MethodDelete:
			if err := s.Disconnect(r.Context()); err != nil {
				writeError(w, http.StatusInternalServerError, agentapi.CodeInternal, err.Error())
				return
			}
			writeJSON(w, http.StatusOK, s.Status())
		default:
			w.Header().Set("Allow", "GET, PUT, DELETE")
			writeError(w, http.StatusMethodNotAllowed, agentapi.CodeMethodNotAllowed, r.Method+" not allowed")
		}
	})
}

// maxWait caps a GET's wait parameter.
const maxWait = time.Minute

// watch answers a GET: the status at once, or, with after=N, the first
// status whose Generation exceeds N, waiting up to wait (default and cap
// maxWait) before returning the current one.
func watch(r *http.Request, s *Supervisor) (agentapi.VPNStatus, error) {
	q := r.URL.Query()
	if !q.Has("after") {
		return s.Status(), nil
	}
	after, err := strconv.ParseUint(q.Get("after"), 10, 64)
	if err != nil {
		return agentapi.VPNStatus{}, fmt.Errorf("after: %w", err)
	}
	wait := maxWait
	if v := q.Get("wait"); v != "" {
		if wait, err = time.ParseDuration(v); err != nil || wait < 0 {
			return agentapi.VPNStatus{}, fmt.Errorf("wait: want a duration such as 30s")
		}
		wait = min(wait, maxWait)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		ch := s.Changed()
		st := s.Status()
		if st.Generation > after {
			return st, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return st, nil
		case <-r.Context().Done():
			return st, nil
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, agentapi.Error{Code: code, Message: msg})
}
