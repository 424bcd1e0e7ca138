package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// plainTable formats the results for the terminal.
func plainTable(done []int, results map[int]result) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tbenchmark\ttarget\tmeasured\tresult")
	for _, n := range done {
		r := results[n]
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", n, rows[n-1].name, rows[n-1].target, r.short(), r.verdict())
	}
	_ = tw.Flush()
	return b.String()
}

// markdown renders the results file.
func markdown(m machine, done []int, results map[int]result, total time.Duration, filled bool) string {
	var b strings.Builder
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench` (`go run ./tools/bench`), which starts what it needs of the local stack, ")
	b.WriteString("runs every row in one run and writes this file. Run it again to refresh the numbers; ")
	b.WriteString("`go run ./tools/bench -only 2,3` runs some rows without touching this file.\n\n")
	b.WriteString("## Machine\n\n")
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| date | %s |\n", m.Date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "| go | `%s` |\n", m.GoVersion)
	fmt.Fprintf(&b, "| CPU | %s |\n", cell(m.CPU))
	fmt.Fprintf(&b, "| cores | %d |\n", m.Cores)
	fmt.Fprintf(&b, "| memory | %s |\n", m.Memory)
	fmt.Fprintf(&b, "| kernel | %s |\n", m.Kernel)
	cache := "the 100,000-object bucket was cached"
	if filled {
		cache = "including the one-time build of the 100,000-object bucket"
	}
	fmt.Fprintf(&b, "| run time | %s (%s) |\n\n", total.Round(time.Second), cache)
	b.WriteString("The local stack of the run: pouchdb-server " + m.PouchDB + " on Node.js " + m.Node + " (databases on disk) as CouchDB, ")
	b.WriteString("MinIO " + service.MinIOVersion + " as S3, localwhisk (this repository) as OpenWhisk, all on 127.0.0.1 and sharing the cores with the bench.\n\n")
	b.WriteString("## Results\n\n")
	b.WriteString("| # | benchmark | target | measured | result |\n|---|---|---|---|---|\n")
	for _, n := range done {
		r := results[n]
		fmt.Fprintf(&b, "| %d | %s | %s | %s | **%s** |\n", n, cell(rows[n-1].name), cell(rows[n-1].target), cell(r.short()), r.verdict())
	}
	b.WriteString("\n## How each row was measured\n")
	for _, n := range done {
		r := results[n]
		fmt.Fprintf(&b, "\n### %d. %s\n\n", n, rows[n-1].name)
		fmt.Fprintf(&b, "Target: %s. Measured: %s, **%s**.\n\n", rows[n-1].target, r.short(), r.verdict())
		if r.err != nil {
			fmt.Fprintf(&b, "```\n%s\n```\n\n", r.err)
		}
		inTable := false
		for _, note := range r.notes {
			row := strings.HasPrefix(note, "|")
			if row != inTable {
				b.WriteString("\n") // lists and tables need a blank line between them
				inTable = row
			}
			if row {
				fmt.Fprintf(&b, "%s\n", note)
				continue
			}
			fmt.Fprintf(&b, "- %s\n", note)
		}
	}
	return b.String()
}
