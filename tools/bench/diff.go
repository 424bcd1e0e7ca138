package main

import (
	"context"
	"fmt"
)

// The sub-benchmarks of s3feed's BenchmarkDiff that the row reads.
const (
	diffTarget      = "BenchmarkDiff/entries=1000000/changed=1%"
	diffFewChanges  = "BenchmarkDiff/entries=1000000/changed=0.1%"
	diffManyChanges = "BenchmarkDiff/entries=1000000/changed=10%"
	diffSmall       = "BenchmarkDiff/entries=100000/changed=1%"
	diffMinRate     = 10_000_000
)

func runDiff(ctx context.Context, b *bench) result {
	b.note("go test -bench BenchmarkDiff on one core (-cpu 1), 3 counts …")
	lines, cmd, err := b.goBench(ctx, "./pkg/s3feed", "^BenchmarkDiff$", "-cpu", "1", "-benchmem", "-count", "3")
	if err != nil {
		return failed(err)
	}
	get := func(name, metric string) float64 {
		v, ok := medianMetric(lines, name, metric)
		if !ok && err == nil {
			err = fmt.Errorf("%s: no %s metric for %s", cmd, metric, name)
		}
		return v
	}
	speed := get(diffTarget, "entries/s")
	type point struct {
		name                   string
		entries                int
		changes, bytes, allocs float64
	}
	points := []point{
		{diffFewChanges, 1_000_000, 0, 0, 0},
		{diffTarget, 1_000_000, 0, 0, 0},
		{diffManyChanges, 1_000_000, 0, 0, 0},
		{diffSmall, 100_000, 0, 0, 0},
	}
	for i := range points {
		p := &points[i]
		p.changes, p.bytes, p.allocs = get(p.name, "changes/op"), get(p.name, "B/op"), get(p.name, "allocs/op")
	}
	if err != nil {
		return failed(err)
	}
	few, small := points[0], points[3]
	// Same number of changes, ten times the entries: allocations that grew
	// with entries would be about ten times larger.
	growth := few.bytes / small.bytes
	fast, margin := atLeast(speed, diffMinRate)
	lean := growth <= 2 && few.allocs <= 2*small.allocs
	notes := []string{
		fmt.Sprintf("`%s` (s3feed's `BenchmarkDiff`: two sorted listings of realistic objects, random MD5 ETags, served in pages of 1,000 as S3 pages them; 1%% changed = a third modified, a third deleted, a third added). Medians of 3 counts, GOMAXPROCS=1.", cmd),
		fmt.Sprintf("Speed: %.1f million entries per second for 1,000,000 entries with 1%% changed (%s changes).", speed/1e6, count(int(points[1].changes))),
	}
	for _, p := range points {
		notes = append(notes, fmt.Sprintf("%s entries, %s changes: %s bytes in %.0f allocations per merge.",
			count(p.entries), count(int(p.changes)), count(int(p.bytes)), p.allocs))
	}
	notes = append(notes, fmt.Sprintf("Allocations follow changes, not entries: with about the same number of changes, 10× the entries (%s vs %s) allocates %.1f× the bytes; the merge's buffers are reused from page to page, so they grow with the changes of the busiest page, not with the listing.",
		count(few.entries), count(small.entries), growth))
	measured := fmt.Sprintf("%.1f M entries/s; %.0f allocations, %.1f KB per 1M-entry merge", speed/1e6, points[1].allocs, points[1].bytes/1000)
	if !lean {
		margin += fmt.Sprintf("; allocations grew %.1f× with 10× the entries", growth)
	}
	return result{measured: measured, pass: fast && lean, margin: margin, notes: notes}
}
