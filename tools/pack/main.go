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
	cfg := config{goCmd: "go", stdout: os.Stdout}
	flag.StringVar(&cfg.outDir, "o", "dist", "directory for the <name>.zip files")
	flag.StringVar(&cfg.execEnv, "exec-env", defaultExecEnv, "content of exec.env: the runtime image the zips are for")
	flag.Parse()
	cfg.patterns = flag.Args()
	if len(cfg.patterns) == 0 {
		cfg.patterns = []string{"./actions/..."}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		stop()
		os.Exit(1)
	}
}
