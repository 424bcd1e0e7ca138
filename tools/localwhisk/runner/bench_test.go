//go:build unix

package runner

import (
	"sync"
	"sync/atomic"
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

// BenchmarkQueuedRuns measures the throughput of a backlog: b.N Runs start at
// once on two warm processes, so all but two of them queue for a process.
func BenchmarkQueuedRuns(b *testing.B) {
	p := newPool(b, WithMaxPerAction(2))
	spec := testSpec("guest/bench@0.0.3")
	act := testAct(`{"op":"log","stdout":["hello"]}`)
	warm := make(chan Result, 2)
	for range 2 { // overlapping, so that both processes start
		go func() { warm <- p.Run(b.Context(), spec, testAct(`{"op":"pid","sleep_ms":100}`)) }()
	}
	for range 2 {
		require.Equal(b, Success, (<-warm).Status)
	}

	b.ResetTimer()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range b.N {
		wg.Go(func() {
			if r := p.Run(b.Context(), spec, act); r.Status != Success {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d runs failed", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}
