package vpn

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestRenderGolden renders the sample profiles in testdata/profiles and
// compares them with the .rendered golden files (go test -update rewrites
// them).
func TestRenderGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "profiles", "*.ovpn"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no sample profiles: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := mustParse(t, string(in)).Render()
			golden := strings.TrimSuffix(path, ".ovpn") + ".rendered"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("rendering differs from %s:\n%s", golden, got)
			}
		})
	}
}
