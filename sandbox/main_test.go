package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// envStarter makes the test binary a process that starts one box from the
// Config JSON in the variable, prints the box's Ref and blocks until
// killed: a stand-in for a daemon that dies while its boxes run.
const envStarter = "SANDBOX_TEST_STARTER"

func TestMain(m *testing.M) {
	if IsChild() {
		ChildMain()
	}
	if cfg := os.Getenv(envStarter); cfg != "" {
		os.Exit(starterMain(cfg))
	}
	code := m.Run()
	cleanupTestFiles()
	os.Exit(code)
}

func starterMain(cfgJSON string) int {
	var cfg Config
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, err := Start(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(b.Ref())
	select {}
}
