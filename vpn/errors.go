package vpn

import (
	"fmt"
	"regexp"

	"github.com/velocitty/microvm/errdefs"
)

// DirectiveError reports a profile line that was refused. It matches
// errdefs.ErrInvalid with errors.Is; the API answers it with a 422 problem
// that names the line and the directive.
type DirectiveError struct {
	Line      int    // 1-based line in the uploaded profile; 0 when no single line is at fault
	Directive string // the option name, or "<tag>" for an inline block
	Reason    string
}

func (e *DirectiveError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Directive, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Directive, e.Reason)
}

// Is makes DirectiveError match errdefs.ErrInvalid.
func (e *DirectiveError) Is(target error) bool { return target == errdefs.ErrInvalid }

// maxNameInError bounds how much of an argument is echoed in a reason.
const maxNameInError = 40

// directiveRE is the shape of an option name. Anything else, such as a
// line of base64 from a key pasted outside its block, is not echoed back,
// since error messages end up in API answers and logs.
var directiveRE = regexp.MustCompile(`^<?/?[A-Za-z][A-Za-z0-9_.-]{0,31}>?$`)

// unrecognized stands for a directive whose name is not echoed.
const unrecognized = "(unrecognized line)"

func refuse(line int, directive, format string, args ...any) *DirectiveError {
	if !directiveRE.MatchString(directive) {
		directive = unrecognized
	}
	return &DirectiveError{Line: line, Directive: directive, Reason: fmt.Sprintf(format, args...)}
}

// clip shortens s for an error message and makes it printable.
func clip(s string) string {
	r := []rune(s)
	if len(r) > maxNameInError {
		s = string(r[:maxNameInError]) + "..."
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}
