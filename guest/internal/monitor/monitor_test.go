package monitor

import "testing"

func TestWith(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"", Setting, true},
		{"madvdontneed=1", "madvdontneed=1," + Setting, true},
		{"schedtrace=1000", "schedtrace=1000", false},
		{"gctrace=1,schedtrace=5", "gctrace=1,schedtrace=5", false},
		{"xschedtrace=1", "xschedtrace=1," + Setting, true},
	} {
		got, ok := With(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("With(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
