package linuxvm

import (
	"os"
	"testing"

	"github.com/velocitty/microvm/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.IsChild() {
		sandbox.ChildMain()
	}
	code := m.Run()
	cleanupFixtures()
	os.Exit(code)
}
