package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// config is what one run of the command needs.
type config struct {
	cacheDir string // kept between runs
	out      string // results file; "" = docs/benchmarks.md when every row runs
	only     string // comma-separated row numbers; "" = all
	stdout   io.Writer
}

// row is one line of the table: what is measured and the target.
type row struct {
	name   string
	target string
	run    func(ctx context.Context, b *bench) result
}

// result is what a row measured.
type result struct {
	measured string   // short, for the table
	pass     bool     // the target is met
	margin   string   // by how much it is beaten or missed
	notes    []string // how it was measured, and the numbers behind it
	err      error    // the row could not measure
}

// rows are the benchmarks, in the order.
var rows = []row{
	{"diff core: merge two sorted listings of 1,000,000 entries with 1% changed",
		"at least 10 million entries per second on one core; allocations proportional to changes, not entries", runDiff},
	{"poll cycle on MinIO, 100,000 objects, 100 changed (state in pouchdb-server)",
		"wall time at most 1.2 times a bare paginated ListObjectsV2 of the same bucket, measured in the same run", runPollCycle},
	{"poll of an unchanged 100,000-object bucket",
		"at most 2 CouchDB documents written", runUnchangedPoll},
	{"peak memory of the poll action process on a 1,000,000-object bucket (S3 server in another process)",
		"at most 64 MiB RSS", runPeakMemory},
	{"snapshot stored in CouchDB, listing with real (random MD5) ETags",
		"at most 0.8 times the bytes of the same listing stored as gzipped JSON; report bytes per object", runSnapshot},
	{"hooks latency, PutObject returned → user action started, 1,000 puts",
		"p50 at most 20 ms, p99 at most 100 ms", runHooksLatency},
	{"delivery: 10,000 changed objects to the user's action, batch_size 100",
		"at most 15 s from the poll's start to the last event received", runDelivery},
	{"action start: process start → ready ack",
		"at most 10 ms; each zip at most 15 MB", runActionStart},
}

// selectRows parses -only.
func selectRows(only string) ([]int, error) {
	if only == "" {
		all := make([]int, len(rows))
		for i := range rows {
			all[i] = i + 1
		}
		return all, nil
	}
	var sel []int
	for _, f := range strings.Split(only, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > len(rows) {
			return nil, fmt.Errorf("flag -only: expected row numbers from 1 to %d separated by commas, got %q", len(rows), only)
		}
		sel = append(sel, n)
	}
	return sel, nil
}

func run(ctx context.Context, cfg config) error {
	sel, err := selectRows(cfg.only)
	if err != nil {
		return err
	}
	root, err := service.RepoRoot()
	if err != nil {
		return err
	}
	out := cfg.out
	if out == "" && cfg.only == "" {
		out = filepath.Join(root, "docs", "benchmarks.md")
	}
	if cfg.cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("find the user cache directory: %w (set -cache)", err)
		}
		cfg.cacheDir = filepath.Join(base, "whiskfeed", "bench")
	}
	b, err := newBench(cfg, root)
	if err != nil {
		return err
	}
	defer b.close()

	begin := time.Now()
	m := describeMachine(ctx)
	fmt.Fprintf(cfg.stdout, "whiskfeed benchmarks on %s, %d cores, %s; %s\n", m.CPU, m.Cores, m.Memory, m.GoVersion)
	fmt.Fprintf(cfg.stdout, "cache %s, logs %s\n\n", cfg.cacheDir, b.logDir)

	done := make([]int, 0, len(sel))
	results := make(map[int]result, len(sel))
	for _, n := range sel {
		if ctx.Err() != nil {
			break
		}
		r := rows[n-1]
		fmt.Fprintf(cfg.stdout, "[%d/%d] %s …\n", n, len(rows), r.name)
		start := time.Now()
		res := r.run(ctx, b)
		results[n] = res
		done = append(done, n)
		fmt.Fprintf(cfg.stdout, "      → %s  (target: %s)  %s  [%s]\n\n", res.short(), r.target, res.verdict(), time.Since(start).Round(100*time.Millisecond))
	}
	total := time.Since(begin)
	fmt.Fprintln(cfg.stdout, plainTable(done, results))
	fmt.Fprintf(cfg.stdout, "total %s\n", total.Round(time.Second))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if out != "" {
		// The file is committed: no paths of this machine in it.
		doc := strings.NewReplacer(b.workDir, "<work dir>", cfg.cacheDir, "<cache dir>", root, "<repository>").
			Replace(markdown(m, done, results, total, b.filled))
		if err := os.WriteFile(out, []byte(doc), 0o644); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
		fmt.Fprintf(cfg.stdout, "wrote %s\n", out)
	}
	var broken []string
	for _, n := range done {
		if results[n].err != nil {
			broken = append(broken, strconv.Itoa(n))
		}
	}
	if len(broken) > 0 {
		return fmt.Errorf("rows %s could not measure (see above and the logs in %s)", strings.Join(broken, ", "), b.logDir)
	}
	return nil
}

func (r result) short() string {
	if r.err != nil {
		msg, _, _ := strings.Cut(r.err.Error(), "\n")
		return "error: " + msg
	}
	if r.margin != "" {
		return r.measured + " (" + r.margin + ")"
	}
	return r.measured
}

func (r result) verdict() string {
	switch {
	case r.err != nil:
		return "ERROR"
	case r.pass:
		return "PASS"
	}
	return "FAIL"
}

// failed is the result of a row that could not measure.
func failed(err error, notes ...string) result {
	return result{err: err, notes: notes}
}

// atMost describes measured against an upper limit, both in the same unit.
func atMost(measured, limit float64) (bool, string) {
	switch {
	case measured == limit:
		return true, "at the limit"
	case measured <= 0:
		return true, "nothing"
	case measured < limit:
		if limit/measured >= 1.5 {
			return true, fmt.Sprintf("%.1f× under the limit", limit/measured)
		}
		return true, fmt.Sprintf("%.0f%% under the limit", 100*(limit-measured)/limit)
	}
	return false, fmt.Sprintf("%.0f%% over the limit", 100*(measured-limit)/limit)
}

// atLeast describes measured against a lower limit.
func atLeast(measured, limit float64) (bool, string) {
	if measured >= limit {
		return true, fmt.Sprintf("%.1f× the target", measured/limit)
	}
	return false, fmt.Sprintf("%.0f%% short of the target", 100*(limit-measured)/limit)
}
