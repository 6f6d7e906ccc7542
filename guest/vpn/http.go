package vpn

import (
	"encoding/json"
	"errors"
	"net/http"

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
			writeJSON(w, http.StatusOK, s.Status())
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, agentapi.Error{Code: code, Message: msg})
}
