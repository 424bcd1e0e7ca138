package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleBenchOutput = `goos: linux
goarch: amd64
pkg: github.com/whiskfeed/whiskfeed/pkg/s3feed
cpu: Intel(R) Xeon(R) Processor
BenchmarkDiff/entries=1000000/changed=1%           	      31	  44640241 ns/op	      9848 changes/op	  22400238 entries/s	   12144 B/op	      10 allocs/op
BenchmarkDiff/entries=1000000/changed=1%-2         	      33	  40000000 ns/op	      9848 changes/op	  25000000 entries/s	   12000 B/op	      10 allocs/op
BenchmarkDiff/entries=1000000/changed=1%           	      30	  50000000 ns/op	      9848 changes/op	  20000000 entries/s	   12200 B/op	      11 allocs/op
BenchmarkSnapshot/build/level=default         	       1	1533706744 ns/op	        20.48 B/object	       392.0 chunks	         0.6513 x-gzjson
--- BENCH: BenchmarkSomething
    bench_test.go:12: a log line
BenchmarkBroken 	 notanumber	 12 ns/op
PASS
ok  	github.com/whiskfeed/whiskfeed/pkg/s3feed	7.279s
`

func TestParseBench(t *testing.T) {
	lines := parseBench(sampleBenchOutput)
	require.Len(t, lines, 4)
	assert.Equal(t, "BenchmarkDiff/entries=1000000/changed=1%", lines[1].name, "the -2 GOMAXPROCS suffix is dropped")
	assert.Equal(t, 33, lines[1].n)
	assert.InDelta(t, 25_000_000, lines[1].metrics["entries/s"], 0)
	assert.InDelta(t, 0.6513, lines[3].metrics["x-gzjson"], 1e-9)

	tests := []struct {
		name, bench, metric string
		want                float64
		ok                  bool
	}{
		{"median of three", "BenchmarkDiff/entries=1000000/changed=1%", "entries/s", 22_400_238, true},
		{"median of three allocs", "BenchmarkDiff/entries=1000000/changed=1%", "allocs/op", 10, true},
		{"single line", "BenchmarkSnapshot/build/level=default", "B/object", 20.48, true},
		{"unknown metric", "BenchmarkSnapshot/build/level=default", "x-nothing", 0, false},
		{"unknown benchmark", "BenchmarkNothing", "ns/op", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := medianMetric(lines, tc.bench, tc.metric)
			assert.Equal(t, tc.ok, ok)
			assert.InDelta(t, tc.want, got, 1e-9)
		})
	}
}

func TestTrimProcs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"BenchmarkDiff-2", "BenchmarkDiff"},
		{"BenchmarkDiff/entries=100-8", "BenchmarkDiff/entries=100"},
		{"BenchmarkDiff/level=best-speed", "BenchmarkDiff/level=best-speed"},
		{"BenchmarkDiff", "BenchmarkDiff"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, trimProcs(tc.in), tc.in)
	}
}
