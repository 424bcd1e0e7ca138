package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// benchLine is one result line of `go test -bench`.
type benchLine struct {
	name    string // without the -GOMAXPROCS suffix
	n       int    // iterations
	metrics map[string]float64
}

// parseBench reads the result lines of `go test -bench` output.
func parseBench(out string) []benchLine {
	var lines []benchLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		l := benchLine{name: trimProcs(f[0]), n: n, metrics: map[string]float64{}}
		ok := true
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				ok = false
				break
			}
			l.metrics[f[i+1]] = v
		}
		if ok {
			lines = append(lines, l)
		}
	}
	return lines
}

// trimProcs drops the "-N" GOMAXPROCS suffix of a benchmark name.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

// medianMetric returns the median of metric over the lines named name.
func medianMetric(lines []benchLine, name, metric string) (float64, bool) {
	var vs []float64
	for _, l := range lines {
		if v, ok := l.metrics[metric]; ok && l.name == name {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}

// goBench runs `go test -run ^$ -bench pattern` in the repository with
// extra flags and returns the parsed lines and the command line.
func (b *bench) goBench(ctx context.Context, pkg, pattern string, flags ...string) ([]benchLine, string, error) {
	args := append([]string{"test", "-run", "^$", "-bench", pattern}, flags...)
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = b.root
	out, err := cmd.CombinedOutput()
	line := "go " + strings.Join(args, " ")
	if err != nil {
		return nil, line, fmt.Errorf("%s: %w\n%s", line, err, out)
	}
	lines := parseBench(string(out))
	if len(lines) == 0 {
		return nil, line, fmt.Errorf("%s: no benchmark results in its output:\n%s", line, out)
	}
	return lines, line, nil
}
