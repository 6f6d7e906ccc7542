package wsl

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestScriptClock runs the resume clock fix with the host's shell and a
// stand-in date that reports a chosen guest time and records a set.
func TestScriptClock(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tt := range []struct {
		name      string
		guest     string
		wantSetTo string
	}{
		{"behind after sleep", "1700000000", "-u -s @1700000300"},
		{"ahead", "1700000900", "-u -s @1700000300"},
		{"within tolerance", "1700000301", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "set.log")
			fakeDate := "#!" + sh + "\ncase \"$2\" in +%s) echo " + tt.guest + ";; *) echo \"$@\" >> " + log + ";; esac\n"
			if err := os.WriteFile(filepath.Join(dir, "date"), []byte(fakeDate), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(sh, "-c", scriptClock, "sh", "1700000300", "2")
			cmd.Env = []string{"PATH=" + dir}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("script: %v: %s", err, out)
			}
			got, _ := os.ReadFile(log)
			if strings.TrimSpace(string(got)) != tt.wantSetTo {
				t.Errorf("date called with %q, want %q", got, tt.wantSetTo)
			}
		})
	}
}
