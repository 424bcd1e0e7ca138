package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// config is what one run of the demo needs.
type config struct {
	envFile string        // the stack's environment, .whiskfeed/stack.env
	distDir string        // where sample.zip is
	wait    time.Duration // longest wait for the expected events
	out     io.Writer
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg)
	interrupted := ctx.Err() != nil
	stop()
	switch {
	case interrupted:
		fmt.Fprintln(os.Stderr, "\ndemo: interrupted")
		os.Exit(130)
	case err != nil:
		fmt.Fprintf(os.Stderr, "\ndemo failed: %v\n", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line; defaults are relative to the
// repository root.
func parseFlags(args []string, out, errOut io.Writer) (config, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(errOut)
	envFile := fs.String("env", "", "the local stack's environment file (default .whiskfeed/stack.env in the repository)")
	distDir := fs.String("dist", "", "folder with the packed actions, sample.zip among them (default dist in the repository)")
	wait := fs.Duration("wait", 60*time.Second, "longest wait for the expected events")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "usage: go run ./tools/demo [-env FILE] [-dist DIR] [-wait DURATION]")
		fmt.Fprintln(errOut, "Runs the whiskfeed demo against the local stack started by `make up`.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q: the demo takes flags only (-env, -dist, -wait)", fs.Arg(0))
	}
	if *wait <= 0 {
		return config{}, fmt.Errorf("-wait %s: expected a positive duration such as 60s", *wait)
	}
	cfg := config{envFile: *envFile, distDir: *distDir, wait: *wait, out: out}
	if cfg.envFile == "" || cfg.distDir == "" {
		root, err := service.RepoRoot()
		if err != nil {
			return config{}, fmt.Errorf("%w (or give -env and -dist)", err)
		}
		if cfg.envFile == "" {
			cfg.envFile = filepath.Join(root, ".whiskfeed", "stack.env")
		}
		if cfg.distDir == "" {
			cfg.distDir = filepath.Join(root, "dist")
		}
	}
	return cfg, nil
}
