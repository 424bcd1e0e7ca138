package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const (
	startRuns     = 20
	startLimit    = 10 * time.Millisecond
	startZipLimit = 15_000_000
)

func runActionStart(ctx context.Context, b *bench) result {
	dist, err := b.pack(ctx)
	if err != nil {
		return failed(err)
	}
	names, err := b.actionNames()
	if err != nil {
		return failed(err)
	}
	dir := filepath.Join(b.workDir, "start")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return failed(err)
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return failed(err)
	}
	defer devNull.Close()
	var (
		worstStart time.Duration
		worstName  string
		biggest    int64
		bigName    string
		lines      []string
	)
	for _, name := range names {
		if ctx.Err() != nil {
			return failed(ctx.Err())
		}
		zipPath := filepath.Join(dist, name+".zip")
		st, err := os.Stat(zipPath)
		if err != nil {
			return failed(fmt.Errorf("action %s was not packed: %w", name, err))
		}
		exe, err := unzipExec(zipPath, dir)
		if err != nil {
			return failed(err)
		}
		exeSt, err := os.Stat(exe)
		if err != nil {
			return failed(err)
		}
		var ready []time.Duration
		for range startRuns {
			p, err := startAction(exe, actionEnv(), devNull, 10*time.Second)
			if err != nil {
				return failed(err)
			}
			ready = append(ready, p.ready)
			if err := p.close(); err != nil {
				return failed(fmt.Errorf("action %s did not exit cleanly when its stdin closed: %w", name, err))
			}
		}
		med := median(ready)
		slices.Sort(ready)
		b.note("%-14s median %s (min %s, max %s), zip %s, exec %s", name, ms(med), ms(ready[0]), ms(ready[len(ready)-1]), mb(st.Size()), mb(exeSt.Size()))
		lines = append(lines, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", name, ms(med), ms(ready[0]), ms(ready[len(ready)-1]), mb(st.Size()), mb(exeSt.Size())))
		if med > worstStart {
			worstStart, worstName = med, name
		}
		if st.Size() > biggest {
			biggest, bigName = st.Size(), name
		}
	}
	okStart, startMargin := atMost(worstStart.Seconds(), startLimit.Seconds())
	okZip, zipMargin := atMost(float64(biggest), startZipLimit)
	notes := []string{
		fmt.Sprintf("Each action of actions/ packed by tools/pack (static linux/amd64, stripped) as for deployment; its `exec` started %d times as the actionloop proxy starts it (stdin pipe, fd 3 pipe, the runner's environment, output to /dev/null), timing from just before the process start to reading `{\"ok\":true}` on fd 3. The verdict takes the slowest median and the largest zip.", startRuns),
		"| action | median | min | max | zip | exec |",
		"|---|---|---|---|---|---|",
	}
	notes = append(notes, lines...)
	return result{
		measured: fmt.Sprintf("slowest median %s (%s); largest zip %s (%s)", ms(worstStart), worstName, mb(biggest), bigName),
		pass:     okStart && okZip,
		margin:   "start " + startMargin + "; zip " + zipMargin,
		notes:    notes,
	}
}

func mb(n int64) string { return strings.TrimSuffix(fmt.Sprintf("%.1f MB", float64(n)/1e6), ".0 MB") }
