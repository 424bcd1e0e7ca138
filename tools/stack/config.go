package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// config is what one run of the command needs.
type config struct {
	command      string
	root         string // repository root
	stateDir     string // .whiskfeed
	whiskPort    int
	couchPort    int
	s3Port       int
	consolePort  int    // 0 = no MinIO console
	webhookToken string // "" = generated once and kept in the state directory
	noWhisk      bool   // do not build or start localwhisk
	out          io.Writer
}

const usage = `usage: go run ./tools/stack [-state DIR] [-no-whisk] install|up|down|status|env`

var errUsage = errors.New(usage)

// loadConfig reads the command line and the WHISKFEED_* variables.
func loadConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("stack", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	state := fs.String("state", "", "state directory (default .whiskfeed in the repository)")
	noWhisk := fs.Bool("no-whisk", false, "do not build or start localwhisk")
	if err := fs.Parse(args); err != nil {
		return config{}, fmt.Errorf("%w\n%v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return config{}, errUsage
	}
	cfg := config{command: fs.Arg(0), noWhisk: *noWhisk, out: out, webhookToken: getenv("WHISKFEED_WEBHOOK_TOKEN")}
	switch cfg.command {
	case "install", "up", "down", "status", "env":
	default:
		return config{}, fmt.Errorf("unknown command %q\n%w", cfg.command, errUsage)
	}

	root, err := service.RepoRoot()
	if err != nil {
		return config{}, err
	}
	cfg.root = root
	cfg.stateDir = filepath.Join(root, ".whiskfeed")
	if *state != "" {
		if cfg.stateDir, err = filepath.Abs(*state); err != nil {
			return config{}, fmt.Errorf("state directory: %w", err)
		}
	}

	ports := []struct {
		env  string
		def  int
		dest *int
	}{
		{"WHISKFEED_WHISK_PORT", 3233, &cfg.whiskPort},
		{"WHISKFEED_COUCHDB_PORT", 5984, &cfg.couchPort},
		{"WHISKFEED_S3_PORT", 9000, &cfg.s3Port},
	}
	for _, p := range ports {
		if *p.dest, err = port(getenv, p.env, p.def); err != nil {
			return config{}, err
		}
	}
	consoleDefault := 0
	if cfg.s3Port != 0 {
		consoleDefault = cfg.s3Port + 1
	}
	if cfg.consolePort, err = port(getenv, "WHISKFEED_S3_CONSOLE_PORT", consoleDefault); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// port reads a port number from the environment; 0 means a free port.
func port(getenv func(string) string, key string, def int) (int, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("%s=%q: expected a port number from 0 to 65535", key, v)
	}
	return n, nil
}

// run carries out the command of cfg.
func run(ctx context.Context, cfg config) error {
	switch cfg.command {
	case "install":
		return install(ctx, cfg)
	case "up":
		return up(ctx, cfg)
	case "down":
		return down(ctx, cfg)
	case "status":
		return status(ctx, cfg)
	case "env":
		return printEnv(cfg)
	}
	return errUsage
}
