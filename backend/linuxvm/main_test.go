package linuxvm

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/velocitty/microvm/machine"
	"github.com/velocitty/microvm/sandbox"
)

// envDaemon makes the test binary a stand-in daemon: it starts the VM
// described in the variable, prints "started" and blocks until killed.
const envDaemon = "LINUXVM_TEST_DAEMON"

type daemonJob struct {
	Image, Agent string
	Spec         machine.Spec
}

func TestMain(m *testing.M) {
	if sandbox.IsChild() {
		sandbox.ChildMain()
	}
	if job := os.Getenv(envDaemon); job != "" {
		os.Exit(daemonMain(job))
	}
	code := m.Run()
	cleanupFixtures()
	os.Exit(code)
}

func daemonMain(jobJSON string) int {
	var job daemonJob
	if err := json.Unmarshal([]byte(jobJSON), &job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := New(Config{ImagePath: job.Image, AgentPath: job.Agent}).Start(ctx, job.Spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("started")
	select {}
}
