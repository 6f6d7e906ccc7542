package errdefs

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestIsNoSpace(t *testing.T) {
	for _, errno := range noSpaceErrnos {
		err := fmt.Errorf("put profile work: %w", &fs.PathError{Op: "write", Path: "work.json", Err: errno})
		if !IsNoSpace(err) {
			t.Errorf("IsNoSpace(%v) = false", err)
		}
	}
	if !IsNoSpace(fmt.Errorf("save VM a: %w", ErrNoSpace)) {
		t.Error("IsNoSpace(ErrNoSpace) = false")
	}
	for _, err := range []error{nil, errors.New("no space left on device"), fmt.Errorf("x: %w", fs.ErrPermission)} {
		if IsNoSpace(err) {
			t.Errorf("IsNoSpace(%v) = true", err)
		}
	}
}
