package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerdicts(t *testing.T) {
	tests := []struct {
		name       string
		pass       bool
		margin     string
		check      func() (bool, string)
		wantPrefix string
	}{
		{name: "well under", check: func() (bool, string) { return atMost(5, 20) }, pass: true, margin: "4.0× under the limit"},
		{name: "just under", check: func() (bool, string) { return atMost(19, 20) }, pass: true, margin: "5% under the limit"},
		{name: "an eighth under", check: func() (bool, string) { return atMost(0.7, 0.8) }, pass: true, margin: "13% under the limit"},
		{name: "at the limit", check: func() (bool, string) { return atMost(2, 2) }, pass: true, margin: "at the limit"},
		{name: "over", check: func() (bool, string) { return atMost(30, 20) }, pass: false, margin: "50% over the limit"},
		{name: "above a floor", check: func() (bool, string) { return atLeast(30e6, 10e6) }, pass: true, margin: "3.0× the target"},
		{name: "below a floor", check: func() (bool, string) { return atLeast(8e6, 10e6) }, pass: false, margin: "20% short of the target"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pass, margin := tc.check()
			assert.Equal(t, tc.pass, pass)
			assert.Equal(t, tc.margin, margin)
		})
	}
}

func TestPercentileAndMedian(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 1000; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 500*time.Millisecond, percentile(ds, 50))
	assert.Equal(t, 990*time.Millisecond, percentile(ds, 99))
	assert.Equal(t, 1000*time.Millisecond, percentile(ds, 100))
	assert.Equal(t, time.Duration(0), percentile(nil, 50))
	assert.Equal(t, 3*time.Millisecond, median([]time.Duration{5 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond}))
	assert.Equal(t, 2*time.Millisecond, median([]time.Duration{1 * time.Millisecond, 3 * time.Millisecond}))
}

func TestCount(t *testing.T) {
	tests := map[int]string{0: "0", 999: "999", 1000: "1,000", 1000000: "1,000,000", -12345: "-12,345"}
	for n, want := range tests {
		assert.Equal(t, want, count(n))
	}
}

func TestSelectRows(t *testing.T) {
	all, err := selectRows("")
	require.NoError(t, err)
	assert.Len(t, all, len(rows))
	some, err := selectRows("2, 3,8")
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3, 8}, some)
	for _, bad := range []string{"0", "9", "x", "1,,2"} {
		_, err := selectRows(bad)
		assert.ErrorContains(t, err, "flag -only", bad)
	}
}

func TestMarkdown(t *testing.T) {
	m := machine{Date: time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC), GoVersion: "go version go1.26.8 linux/amd64",
		CPU: "Some CPU", Cores: 2, Memory: "23.5 GiB", Kernel: "linux 6.1"}
	results := map[int]result{
		3: {measured: "2 documents written", pass: true, margin: "at the limit", notes: []string{"counted with update_seq"}},
		8: {measured: "3 ms", pass: true, notes: []string{"how", "| action | median |", "|---|---|", "| poll | 2 ms |", "after"}},
		6: {err: errors.New("deploy failed\nwith details"), notes: []string{"a note"}},
	}
	doc := markdown(m, []int{3, 6, 8}, results, 7*time.Minute, false)
	for _, want := range []string{
		"| go | `go version go1.26.8 linux/amd64` |", "| CPU | Some CPU |", "| cores | 2 |", "| memory | 23.5 GiB |", "| date | 2026-11-25 16:00 UTC |", "| run time | 7m0s (the 100,000-object bucket was cached) |",
		"| 3 | poll of an unchanged 100,000-object bucket | at most 2 CouchDB documents written | 2 documents written (at the limit) | **PASS** |",
		"| 6 | " + rows[5].name, "error: deploy failed | **ERROR** |", "```\ndeploy failed\nwith details\n```",
		"- how\n\n| action | median |\n|---|---|\n| poll | 2 ms |\n\n- after\n",
	} {
		assert.Contains(t, doc, want)
	}
	assert.NotContains(t, doc, "| 1 |", "rows not run are not listed")
	assert.Equal(t, 1, strings.Count(doc, "### 3. "))
}
