//go:build unix

package runner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkWarmRun measures one activation round trip on a warm process:
// encode and write the activation, read the result, collect the logs.
func BenchmarkWarmRun(b *testing.B) {
	p := newPool(b, WithMaxPerAction(1))
	spec := testSpec("guest/bench@0.0.1")
	act := testAct(`{"op":"log","stdout":["hello"]}`)
	require.Equal(b, Success, p.Run(b.Context(), spec, act).Status) // cold start outside the loop

	start := time.Now()
	n := 0
	for b.Loop() {
		if r := p.Run(b.Context(), spec, act); r.Status != Success {
			b.Fatalf("run: %s %s", r.Status, r.Response)
		}
		n++
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/run")
}

// BenchmarkWarmRunParallel measures throughput with two warm processes.
func BenchmarkWarmRunParallel(b *testing.B) {
	p := newPool(b, WithMaxPerAction(2))
	spec := testSpec("guest/bench@0.0.2")
	act := testAct(`{"op":"log","stdout":["hello"]}`)
	for range 2 {
		require.Equal(b, Success, p.Run(b.Context(), spec, act).Status)
	}
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r := p.Run(b.Context(), spec, act); r.Status != Success {
				b.Errorf("run: %s %s", r.Status, r.Response)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
}
