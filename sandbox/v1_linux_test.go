package sandbox

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// TestV1Freezer runs a box's freeze, thaw and kill through the cgroup v1
// freezer, as on hybrid hosts whose cgroup v2 cannot freeze.
func TestV1Freezer(t *testing.T) {
	requireRoot(t)
	if _, freezer, err := cgroupMounts(); err != nil || freezer == "" {
		t.Skipf("no cgroup v1 freezer hierarchy mounted (%v)", err)
	}
	useV1Freezer = true
	t.Cleanup(func() { useV1Freezer = false })

	tb := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Start(ctx, tb.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cg := b.Ref().Cgroup
	if _, err := os.Stat(cg + "/freezer.state"); err != nil {
		t.Fatalf("box cgroup %s is not a v1 freezer cgroup: %v", cg, err)
	}
	greet(t, tb.addr)

	if err := b.Freeze(ctx); err != nil {
		t.Fatal(err)
	}
	if frozen, err := b.Frozen(); err != nil || !frozen {
		t.Fatalf("Frozen() = %v, %v after Freeze", frozen, err)
	}
	before := ticks(t, tb.cfg.RootFS)
	time.Sleep(100 * time.Millisecond)
	if after := ticks(t, tb.cfg.RootFS); after != before {
		t.Fatalf("ticks went from %d to %d while frozen", before, after)
	}
	if err := b.Thaw(ctx); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, "ticks advance", func() (bool, error) { return ticks(t, tb.cfg.RootFS) > before, nil }); err != nil {
		t.Fatal(err)
	}

	// Kill a frozen box: the v1 freezer holds SIGKILL until thawed.
	if err := b.Freeze(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Alive() {
		t.Fatal("alive after Destroy")
	}
	if _, err := os.Stat(cg); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cgroup %s left: %v", cg, err)
	}
}
