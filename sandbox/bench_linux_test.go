package sandbox

import (
	"context"
	"testing"
	"time"
)

// BenchmarkStartDestroy measures a box's life: Start (namespaces, mounts,
// pivot_root, exec of PID 1), then Destroy (kill, wait, cgroup removal).
func BenchmarkStartDestroy(b *testing.B) {
	requireRoot(b)
	tb := testConfig(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var start, destroy time.Duration
	for b.Loop() {
		t0 := time.Now()
		box, err := Start(ctx, tb.cfg)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := box.Destroy(ctx); err != nil {
			b.Fatal(err)
		}
		start += t1.Sub(t0)
		destroy += time.Since(t1)
	}
	b.ReportMetric(float64(start.Microseconds())/float64(b.N)/1000, "start-ms/op")
	b.ReportMetric(float64(destroy.Microseconds())/float64(b.N)/1000, "destroy-ms/op")
}
