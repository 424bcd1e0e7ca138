// Command localwhisk serves the OpenWhisk REST API on 127.0.0.1 and runs Go
// action zips as native processes, for development and tests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/alarms"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/deploy"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/runner"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

type config struct {
	addr           string
	apiHost        string
	dataDir        string
	workDir        string
	authFile       string
	limitsFile     string
	limits         server.Limits
	activationsMax int
	verbose        bool
	alarms         bool
	alarmDelay     int
	alarmCron5     bool
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "deploy" || os.Args[1] == "undeploy") {
		os.Exit(deployMain(os.Args[1], os.Args[2:]))
	}
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:3233", "address to listen on")
	flag.StringVar(&cfg.apiHost, "api-host", "", "URL given to actions as __OW_API_HOST (default http://<addr>)")
	flag.StringVar(&cfg.dataDir, "data", "", "directory keeping entities across restarts (default: in memory)")
	flag.StringVar(&cfg.workDir, "work", "", "directory for unpacked actions (default: a temporary directory)")
	flag.StringVar(&cfg.authFile, "auth-file", "", `file of extra identities, lines "namespace uuid:key"`)
	flag.StringVar(&cfg.limitsFile, "limits-file", "", `JSON limits: {"default":{…},"namespaces":{"ns":{…}}}`)
	flag.IntVar(&cfg.limits.InvocationsPerMinute, "invocations-per-minute", 0, "default invocations per minute per namespace (0 = unlimited)")
	flag.IntVar(&cfg.limits.ConcurrentInvocations, "concurrent-invocations", 0, "default activations in flight per namespace (0 = unlimited)")
	flag.IntVar(&cfg.limits.FiresPerMinute, "fires-per-minute", 0, "default trigger fires per minute per namespace (0 = unlimited)")
	flag.IntVar(&cfg.activationsMax, "activations", 10000, "number of newest activations kept")
	flag.BoolVar(&cfg.verbose, "verbose", false, "log request and response bodies (secrets redacted)")
	flag.BoolVar(&cfg.alarms, "alarms", true, "serve the built-in /whisk.system/alarms package")
	flag.IntVar(&cfg.alarmDelay, "alarm-delay-limit", 0, "seconds of name-hashed delay added to 5-field crons unless strict (upstream ALARM_DELAY_LIMIT)")
	flag.BoolVar(&cfg.alarmCron5, "alarm-limit-cron-fields", false, "reject 6-field cron patterns with non-zero seconds")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "localwhisk:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ids := server.DefaultIdentities()
	if cfg.authFile != "" {
		f, err := os.Open(cfg.authFile)
		if err != nil {
			return fmt.Errorf("read auth file: %w", err)
		}
		more, err := server.ParseAuthFile(f)
		f.Close()
		if err != nil {
			return err
		}
		ids = append(ids, more...)
	}
	limits, perNS := cfg.limits, map[string]server.Limits{}
	if cfg.limitsFile != "" {
		f, err := os.Open(cfg.limitsFile)
		if err != nil {
			return fmt.Errorf("read limits file: %w", err)
		}
		lf, err := server.ParseLimits(f)
		f.Close()
		if err != nil {
			return err
		}
		limits, perNS = mergeLimits(lf.Default, cfg.limits), lf.Namespaces
	}
	workDir := cfg.workDir
	if workDir == "" {
		d, err := os.MkdirTemp("", "localwhisk-")
		if err != nil {
			return fmt.Errorf("create work directory: %w", err)
		}
		defer os.RemoveAll(d)
		workDir = d
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	apiHost := cfg.apiHost
	if apiHost == "" {
		apiHost = "http://" + ln.Addr().String()
	}
	pool := runner.New(filepath.Join(workDir, "actions"), runner.WithLogger(logger))
	srv, err := server.New(server.Config{
		Executor: pool, APIHost: apiHost, Identities: ids, Limits: limits, NamespaceLimits: perNS,
		DataDir: cfg.dataDir, ActivationsMax: cfg.activationsMax, Logger: logger, Verbose: cfg.verbose,
	})
	if err != nil {
		ln.Close()
		pool.Close()
		return err
	}
	var prov *alarms.Provider
	if cfg.alarms {
		opts := []alarms.Option{alarms.WithAPIHost(apiHost), alarms.WithLogger(logger), alarms.WithDelayLimit(cfg.alarmDelay)}
		if cfg.dataDir != "" {
			opts = append(opts, alarms.WithDataDir(cfg.dataDir))
		}
		if cfg.alarmCron5 {
			opts = append(opts, alarms.WithLimitCronFields())
		}
		if prov, err = alarms.Register(srv, opts...); err != nil {
			srv.Close()
			ln.Close()
			pool.Close()
			return fmt.Errorf("alarms: %w", err)
		}
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	logger.Info("localwhisk listening", "api_host", apiHost, "data", cfg.dataDir)

	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("localwhisk shutting down")
	}
	if prov != nil {
		prov.Close()
	}
	// cancel running activations first so that waiting requests finish
	srv.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := hs.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = fmt.Errorf("shutdown: %w", serr)
	}
	if perr := pool.Close(); perr != nil && err == nil {
		err = fmt.Errorf("stop actions: %w", perr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// mergeLimits lets flags override the file's defaults where they are set.
func mergeLimits(file, flags server.Limits) server.Limits {
	if flags.InvocationsPerMinute > 0 {
		file.InvocationsPerMinute = flags.InvocationsPerMinute
	}
	if flags.ConcurrentInvocations > 0 {
		file.ConcurrentInvocations = flags.ConcurrentInvocations
	}
	if flags.FiresPerMinute > 0 {
		file.FiresPerMinute = flags.FiresPerMinute
	}
	return file
}

// deployMain runs `localwhisk deploy|undeploy [flags]`: applies or removes a
// wskdeploy manifest on any OpenWhisk API host. Credentials default to
// WHISK_APIHOST and WHISK_AUTH from the environment.
func deployMain(cmd string, args []string) int {
	opts, err := deploy.ParseArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "localwhisk %s: %v\n%s", cmd, err, deploy.Usage)
		return 2
	}
	if opts.APIHost == "" {
		opts.APIHost = os.Getenv("WHISK_APIHOST")
	}
	if opts.AuthKey == "" {
		opts.AuthKey = os.Getenv("WHISK_AUTH")
	}
	opts.Out, opts.Env = os.Stdout, os.Getenv
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	run := deploy.Deploy
	if cmd == "undeploy" {
		run = deploy.Undeploy
	}
	if err := run(ctx, opts); err != nil {
		fmt.Fprintf(os.Stderr, "localwhisk %s: %v\n", cmd, err)
		return 1
	}
	return 0
}
