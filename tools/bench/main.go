package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == fakeS3Command {
		os.Exit(fakeS3Main(os.Args[2:]))
	}
	cfg := config{stdout: os.Stdout}
	flag.StringVar(&cfg.cacheDir, "cache", "", "directory kept between runs: the MinIO data with the 100,000-object bucket (default <user cache dir>/whiskfeed/bench)")
	flag.StringVar(&cfg.out, "out", "", "where to write the results (default docs/benchmarks.md; only when every row runs)")
	flag.StringVar(&cfg.only, "only", "", "comma-separated row numbers to run, e.g. 2,3")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}
