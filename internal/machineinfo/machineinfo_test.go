package machineinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestDescribeNamesTheMachine(t *testing.T) {
	lines := Describe()
	all := strings.Join(lines, "\n")
	for _, want := range []string{"CPU: ", "Go: " + runtime.Version()} {
		if !strings.Contains(all, want) {
			t.Errorf("description lacks %q:\n%s", want, all)
		}
	}
	if runtime.GOOS == "linux" && strings.Contains(all, "Kernel: \n") {
		t.Errorf("no kernel release on Linux:\n%s", all)
	}
}

func TestToolVersionsSkipsMissingPrograms(t *testing.T) {
	if v := ToolVersions("no-such-program-for-machineinfo"); len(v) != 0 {
		t.Fatalf("versions of a missing program: %q", v)
	}
}
