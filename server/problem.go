package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/errdefs"
	"github.com/velocitty/microvm/vpn"
)

// Stable problem codes. Clients match on these, so they never change
// meaning; api/openapi.yaml lists them for users.
const (
	codeInvalid          = "invalid_request"
	codeUnauthorized     = "unauthorized"
	codeForbiddenOrigin  = "forbidden_origin"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeInvalidState     = "invalid_state"
	codeAlreadyExists    = "already_exists"
	codePortInUse        = "port_in_use"
	codeConflict         = "conflict"
	codePrecondition     = "precondition_failed"
	codeTooLarge         = "too_large"
	codeUnsupportedMedia = "unsupported_media_type"
	codeMisdirected      = "misdirected_request"
	codeDirectiveRefused = "profile_directive_refused"
	codeInternal         = "internal"
	codeNotImplemented   = "not_implemented"
	codeUnavailable      = "unavailable"
	codeBackendUnavail   = "backend_unavailable"
	codeTimeout          = "timeout"
	codeNoSpace          = "insufficient_storage"
)

// backendError marks an error from starting or creating a VM, so that an
// unavailable class is reported as the backend being unavailable.
type backendError struct{ err error }

func (e backendError) Error() string { return e.err.Error() }
func (e backendError) Unwrap() error { return e.err }

// newProblem builds a problem document for status and code.
func newProblem(status int, code, detail string) *api.Problem {
	return &api.Problem{
		Type:   "urn:microvm:problem:" + code,
		Title:  titles[code],
		Status: status,
		Code:   code,
		Detail: detail,
	}
}

var titles = map[string]string{
	codeInvalid:          "Invalid request",
	codeUnauthorized:     "Unauthorized",
	codeForbiddenOrigin:  "Cross-origin request refused",
	codeNotFound:         "Not found",
	codeMethodNotAllowed: "Method not allowed",
	codeInvalidState:     "Invalid state",
	codeAlreadyExists:    "Already exists",
	codePortInUse:        "Port in use",
	codeConflict:         "Conflict",
	codePrecondition:     "Precondition failed",
	codeTooLarge:         "Request too large",
	codeUnsupportedMedia: "Unsupported media type",
	codeMisdirected:      "Misdirected request",
	codeDirectiveRefused: "Profile directive refused",
	codeInternal:         "Internal error",
	codeNotImplemented:   "Not implemented",
	codeUnavailable:      "Unavailable",
	codeBackendUnavail:   "Backend unavailable",
	codeTimeout:          "Timed out",
	codeNoSpace:          "Insufficient storage",
}

// problemFor maps an error from the layers below to a problem document.
// It is the one place where errdefs classes become HTTP statuses. The
// second result reports an unexpected error whose text must not reach
// the client.
func problemFor(err error) (p *api.Problem, internal bool) {
	var (
		field     *errdefs.InvalidField
		state     *errdefs.StateError
		directive *vpn.DirectiveError
		tooLarge  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &directive):
		p = newProblem(http.StatusUnprocessableEntity, codeDirectiveRefused, err.Error())
		p.Line = directive.Line
		p.Directive = directive.Directive
	case errors.As(err, &field):
		p = newProblem(http.StatusBadRequest, codeInvalid, err.Error())
		p.Field = field.Field
	case errors.As(err, &tooLarge), errors.Is(err, errdefs.ErrTooLarge):
		p = newProblem(http.StatusRequestEntityTooLarge, codeTooLarge, err.Error())
	case errors.Is(err, errdefs.ErrInvalid):
		p = newProblem(http.StatusBadRequest, codeInvalid, err.Error())
	case errors.Is(err, errdefs.ErrNotFound):
		p = newProblem(http.StatusNotFound, codeNotFound, err.Error())
	case errors.As(err, &state):
		p = newProblem(http.StatusConflict, codeInvalidState, err.Error())
		p.CurrentState = state.Current
	case errors.Is(err, errdefs.ErrAlreadyExists):
		p = newProblem(http.StatusConflict, codeAlreadyExists, err.Error())
	case errors.Is(err, errdefs.ErrPortInUse):
		p = newProblem(http.StatusConflict, codePortInUse, err.Error())
	case errors.Is(err, errdefs.ErrConflict):
		p = newProblem(http.StatusConflict, codeConflict, err.Error())
	case errors.Is(err, errdefs.ErrPrecondition):
		p = newProblem(http.StatusPreconditionFailed, codePrecondition, err.Error())
	case errors.Is(err, errdefs.ErrUnavailable) && errors.As(err, new(backendError)):
		p = newProblem(http.StatusServiceUnavailable, codeBackendUnavail, err.Error())
	case errors.Is(err, errdefs.ErrUnavailable):
		p = newProblem(http.StatusServiceUnavailable, codeUnavailable, err.Error())
	case errors.Is(err, errdefs.ErrNotImplemented), errors.Is(err, errdefs.ErrUnsupported):
		p = newProblem(http.StatusNotImplemented, codeNotImplemented, err.Error())
	case errors.Is(err, errdefs.ErrTimeout):
		p = newProblem(http.StatusGatewayTimeout, codeTimeout, err.Error())
	case errors.Is(err, errdefs.ErrUnauthorized):
		p = newProblem(http.StatusUnauthorized, codeUnauthorized, err.Error())
	case errdefs.IsNoSpace(err):
		p = newProblem(http.StatusInsufficientStorage, codeNoSpace, err.Error())
	default:
		return newProblem(http.StatusInternalServerError, codeInternal,
			"the daemon failed unexpectedly; its log has the details"), true
	}
	return p, false
}

// writeProblem sends p as application/problem+json.
func writeProblem(w http.ResponseWriter, r *http.Request, p *api.Problem) {
	p.Instance = r.URL.Path
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Del("Content-Length")
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", "Bearer")
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// errorWriter writes errors as problems and logs the unexpected ones.
type errorWriter struct{ log *slog.Logger }

// write maps err and sends it.
func (e errorWriter) write(w http.ResponseWriter, r *http.Request, err error) {
	p, internal := problemFor(err)
	if internal {
		e.log.ErrorContext(r.Context(), "request failed",
			"method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeProblem(w, r, p)
}
