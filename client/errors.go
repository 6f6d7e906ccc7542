package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/velocitty/microvm/api"
	"github.com/velocitty/microvm/errdefs"
)

// Error is a problem answer of the daemon. Match it with errors.Is
// against the errdefs classes (errdefs.ErrNotFound, ErrConflict, ...), or
// look at Code, which is stable.
type Error struct {
	Op     string // the client call, e.g. "start VM default"
	Status int
	Code   string // e.g. "not_found", "invalid_state"
	Title  string
	Detail string

	Field        string // invalid_request: the member or parameter at fault
	CurrentState string // invalid_state: the VM's state
	Line         int    // profile_directive_refused: the profile line
	Directive    string // profile_directive_refused: the directive
}

func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s: %s (%d %s)", e.Op, msg, e.Status, e.Code)
}

// classes maps problem codes back to error classes.
var classes = map[string][]error{
	"invalid_request":           {errdefs.ErrInvalid},
	"profile_directive_refused": {errdefs.ErrInvalid},
	"unsupported_media_type":    {errdefs.ErrInvalid},
	"unauthorized":              {errdefs.ErrUnauthorized},
	"not_found":                 {errdefs.ErrNotFound},
	"invalid_state":             {errdefs.ErrConflict},
	"conflict":                  {errdefs.ErrConflict},
	"already_exists":            {errdefs.ErrAlreadyExists, errdefs.ErrConflict},
	"port_in_use":               {errdefs.ErrPortInUse, errdefs.ErrConflict},
	"precondition_failed":       {errdefs.ErrPrecondition},
	"too_large":                 {errdefs.ErrTooLarge},
	"unavailable":               {errdefs.ErrUnavailable},
	"backend_unavailable":       {errdefs.ErrUnavailable},
	"not_implemented":           {errdefs.ErrNotImplemented},
	"timeout":                   {errdefs.ErrTimeout},
	"insufficient_storage":      {errdefs.ErrNoSpace},
	"internal":                  {errdefs.ErrInternal},
}

// statusClasses is the fallback for unknown codes.
var statusClasses = map[int]error{
	http.StatusBadRequest:            errdefs.ErrInvalid,
	http.StatusUnauthorized:          errdefs.ErrUnauthorized,
	http.StatusNotFound:              errdefs.ErrNotFound,
	http.StatusConflict:              errdefs.ErrConflict,
	http.StatusPreconditionFailed:    errdefs.ErrPrecondition,
	http.StatusRequestEntityTooLarge: errdefs.ErrTooLarge,
	http.StatusUnprocessableEntity:   errdefs.ErrInvalid,
	http.StatusNotImplemented:        errdefs.ErrNotImplemented,
	http.StatusServiceUnavailable:    errdefs.ErrUnavailable,
	http.StatusInsufficientStorage:   errdefs.ErrNoSpace,
	http.StatusGatewayTimeout:        errdefs.ErrTimeout,
}

// Is reports whether the problem belongs to the class target.
func (e *Error) Is(target error) bool {
	if cs, ok := classes[e.Code]; ok {
		for _, c := range cs {
			if c == target {
				return true
			}
		}
		return false
	}
	if c, ok := statusClasses[e.Status]; ok {
		return c == target
	}
	return e.Status >= 500 && target == errdefs.ErrInternal
}

// responseError builds an *Error from a non-success answer.
func responseError(op string, resp *http.Response) error {
	e := &Error{Op: op, Status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var p api.Problem
	if strings.Contains(resp.Header.Get("Content-Type"), "json") && json.Unmarshal(body, &p) == nil {
		e.Code, e.Title, e.Detail = p.Code, p.Title, p.Detail
		e.Field, e.CurrentState, e.Line, e.Directive = p.Field, p.CurrentState, p.Line, p.Directive
	} else {
		e.Title = http.StatusText(resp.StatusCode)
		e.Detail = strings.TrimSpace(string(body))
	}
	return e
}
