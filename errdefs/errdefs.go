// Package errdefs holds the error classes shared by every microvm package.
//
// Packages wrap one of the sentinel errors with %w and the failing
// operation; the HTTP server maps classes to status codes in one place and
// the client maps them back. Callers test with errors.Is.
package errdefs

import (
	"errors"
	"fmt"
)

// The error classes. Each maps to exactly one HTTP status.
var (
	ErrInvalid        = errors.New("invalid argument")    // 400 / 422
	ErrNotFound       = errors.New("not found")           // 404
	ErrConflict       = errors.New("conflict")            // 409
	ErrAlreadyExists  = errors.New("already exists")      // 409
	ErrPrecondition   = errors.New("precondition failed") // 412
	ErrUnavailable    = errors.New("unavailable")         // 503
	ErrUnsupported    = errors.New("unsupported")         // 501 / 503
	ErrNotImplemented = errors.New("not implemented")     // 501
	ErrTimeout        = errors.New("timed out")           // 504
	ErrTooLarge       = errors.New("too large")           // 413
	ErrUnauthorized   = errors.New("unauthorized")        // 401
	ErrPortInUse      = errors.New("port in use")         // 409
	ErrInternal       = errors.New("internal error")      // 500
	ErrNoSpace        = errors.New("no space left")       // 507
)

// IsNoSpace reports whether err is ErrNoSpace or the system's own error
// for a full disk or an exhausted quota, which the layers below pass up
// unclassified.
func IsNoSpace(err error) bool {
	if errors.Is(err, ErrNoSpace) {
		return true
	}
	for _, errno := range noSpaceErrnos {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// StateError reports an operation refused because of a VM's current state.
// It matches ErrConflict with errors.Is.
type StateError struct {
	Op      string // the refused operation, e.g. "pause"
	Current string // the state the VM is in
}

func (e *StateError) Error() string {
	return fmt.Sprintf("cannot %s a VM that is %s", e.Op, e.Current)
}

// Is makes StateError match ErrConflict.
func (e *StateError) Is(target error) bool { return target == ErrConflict }

// InvalidField reports a bad request member. It matches ErrInvalid.
type InvalidField struct {
	Field  string // JSON pointer or member name, e.g. "name"
	Reason string
}

func (e *InvalidField) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// Is makes InvalidField match ErrInvalid.
func (e *InvalidField) Is(target error) bool { return target == ErrInvalid }

// Invalidf returns an ErrInvalid for one named field.
func Invalidf(field, format string, args ...any) error {
	return &InvalidField{Field: field, Reason: fmt.Sprintf(format, args...)}
}
