package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// install prepares everything the stack runs: the pinned npm packages and
// the MinIO binary.
func install(ctx context.Context, cfg config) error {
	begin := time.Now()
	err := runSteps(ctx, cfg.out, []step{
		{name: "install node packages (tools/stack/npm)", run: func(ctx context.Context, w io.Writer) error {
			return service.InstallNodeDeps(ctx, filepath.Join(cfg.root, "tools", "stack", "npm"), service.WithProgress(w))
		}},
		{name: "MinIO binary " + service.MinIOVersion, run: func(ctx context.Context, w io.Writer) error {
			_, err := service.MinIOBinary(ctx, service.WithProgress(w))
			return err
		}},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(cfg.out, "installed in %.1fs\n", time.Since(begin).Seconds())
	return nil
}

// upRun is the state of one `up`: what it started, and the environment it
// hands to later steps (stack.env).
type upRun struct {
	cfg      config
	sec      secrets
	whiskBin string // "" while localwhisk is not built
	started  []*service.Proc
	env      map[string]string
}

func up(ctx context.Context, cfg config) error {
	recs, err := readRecords(cfg)
	if err != nil {
		return err
	}
	alive := 0
	for _, r := range recs {
		if _, err := service.Attach(r); err == nil {
			alive++
		}
	}
	switch {
	case alive > 0 && alive == len(recs):
		fmt.Fprintln(cfg.out, "the stack is already up")
		return status(ctx, cfg)
	case alive > 0:
		return fmt.Errorf("the stack is partly up (%d of %d recorded processes run): run `go run ./tools/stack down` first", alive, len(recs))
	}
	for _, r := range recs { // stale pid files of a stack that died
		if err := removeRecord(cfg, r.Name); err != nil {
			return err
		}
	}

	begin := time.Now()
	u := &upRun{cfg: cfg, env: map[string]string{}}
	steps := u.steps()
	steps = append(steps, deploySteps(u)...)
	if err := runSteps(ctx, cfg.out, steps); err != nil {
		u.rollback()
		return err
	}
	fmt.Fprintf(cfg.out, "the stack is up (%.1fs); its environment: %s\n", time.Since(begin).Seconds(), cfg.path("stack.env"))
	fmt.Fprintf(cfg.out, "  set -a; . %s; set +a\n", cfg.path("stack.env"))
	return nil
}

func (u *upRun) steps() []step {
	cfg := u.cfg
	return []step{
		{name: "install node packages", run: func(ctx context.Context, w io.Writer) error {
			return service.InstallNodeDeps(ctx, filepath.Join(cfg.root, "tools", "stack", "npm"), service.WithProgress(w))
		}},
		{name: "MinIO binary", run: func(ctx context.Context, w io.Writer) error {
			_, err := service.MinIOBinary(ctx, service.WithProgress(w))
			return err
		}},
		{name: "build localwhisk", run: u.buildWhisk},
		{name: "prepare " + cfg.stateDir, run: u.prepare},
		{name: "start CouchDB (pouchdb-server)", run: u.startCouchDB},
		{name: "start localwhisk", run: u.startWhisk},
		{name: "start MinIO", run: u.startMinIO},
		{name: "write stack.env", run: u.writeEnv},
	}
}

// buildWhisk builds tools/localwhisk into <state>/bin when it is a main
// package.
func (u *upRun) buildWhisk(ctx context.Context, w io.Writer) error {
	if u.cfg.noWhisk {
		return skip("-no-whisk")
	}
	bin := u.cfg.path("bin", "localwhisk")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./tools/localwhisk")
	build.Dir = u.cfg.root
	build.Stdout, build.Stderr = w, w
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./tools/localwhisk: %w", err)
	}
	u.whiskBin = bin
	return nil
}

// prepare loads or generates the secrets, chooses free ports where 0 was
// asked for, and checks that every port is free before anything starts.
func (u *upRun) prepare(_ context.Context, _ io.Writer) error {
	sec, err := loadSecrets(u.cfg)
	if err != nil {
		return err
	}
	u.sec = sec
	ports := []struct {
		env  string
		port *int
		use  bool
	}{
		{"WHISKFEED_WHISK_PORT", &u.cfg.whiskPort, true}, // the hook URL names it even without localwhisk
		{"WHISKFEED_COUCHDB_PORT", &u.cfg.couchPort, true},
		{"WHISKFEED_S3_PORT", &u.cfg.s3Port, true},
		{"WHISKFEED_S3_CONSOLE_PORT", &u.cfg.consolePort, false},
	}
	for _, p := range ports {
		if *p.port == 0 && p.use {
			if *p.port, err = service.FreePort(); err != nil {
				return err
			}
		}
		if *p.port != 0 && !service.PortFree(*p.port) {
			if p.env == "WHISKFEED_WHISK_PORT" && u.whiskBin == "" {
				continue // nothing of ours will listen there
			}
			return fmt.Errorf("port %d (%s) is taken by another process: stop it or set %s", *p.port, p.env, p.env)
		}
	}
	return nil
}

// track remembers a started process for rollback and writes its pid file.
func (u *upRun) track(p *service.Proc) error {
	u.started = append(u.started, p)
	return writeRecord(u.cfg, p.Record())
}

func (u *upRun) startCouchDB(ctx context.Context, w io.Writer) error {
	p, err := service.StartCouchDB(ctx, service.CouchDBOptions{
		Port:    u.cfg.couchPort,
		Dir:     u.cfg.path("couchdb"),
		LogFile: u.cfg.logFile("couchdb"),
		Detach:  true,
	})
	if err != nil {
		return err
	}
	if err := u.track(p); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.URL+"/"+couchDatabase, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("create database %s: %w", couchDatabase, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusPreconditionFailed {
		return fmt.Errorf("create database %s: %s (log %s)", couchDatabase, resp.Status, p.LogFile)
	}
	fmt.Fprintf(w, "%s, pid %d, log %s\n", p.URL, p.PID, p.LogFile)
	u.env["COUCHDB_URL"] = p.URL
	u.env["WHISKFEED_COUCHDB_URL"] = p.URL
	u.env["WHISKFEED_COUCHDB_DATABASE"] = couchDatabase
	return nil
}

func (u *upRun) whiskURL() string { return "http://127.0.0.1:" + strconv.Itoa(u.cfg.whiskPort) }

func (u *upRun) startWhisk(ctx context.Context, w io.Writer) error {
	u.env["WHISK_APIHOST"] = u.whiskURL()
	u.env["WHISK_AUTH_GUEST"] = guestAuth
	u.env["WHISK_AUTH_SYSTEM"] = systemAuth
	if u.whiskBin == "" {
		return skip("localwhisk is not built (-no-whisk)")
	}
	p, err := service.StartProcess(ctx, service.ProcessOptions{
		Name:         "localwhisk",
		Path:         u.whiskBin,
		Args:         []string{"-addr", "127.0.0.1:" + strconv.Itoa(u.cfg.whiskPort), "-data", u.cfg.path("localwhisk")},
		Dir:          u.cfg.root,
		Port:         u.cfg.whiskPort,
		URL:          u.whiskURL(),
		ReadyURL:     u.whiskURL() + "/api/v1",
		LogFile:      u.cfg.logFile("localwhisk"),
		ReadyTimeout: 30 * time.Second,
		Detach:       true,
	})
	if err != nil {
		return err
	}
	if err := u.track(p); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s, pid %d, log %s\n", p.URL, p.PID, p.LogFile)
	return nil
}

func (u *upRun) startMinIO(ctx context.Context, w io.Writer) error {
	hook := service.Webhook{
		ID:        webhookID,
		Endpoint:  u.whiskURL() + hookActionPath,
		AuthToken: u.sec.webhookToken,
		QueueDir:  u.cfg.path("minio-queue"), // events wait here while localwhisk is down
	}
	p, err := service.StartMinIO(ctx, service.MinIOOptions{
		Port:        u.cfg.s3Port,
		ConsolePort: u.cfg.consolePort,
		Dir:         u.cfg.path("minio"),
		AccessKey:   s3AccessKey,
		SecretKey:   u.sec.s3SecretKey,
		Webhooks:    []service.Webhook{hook},
		LogFile:     u.cfg.logFile("minio"),
		Detach:      true,
	})
	if err != nil {
		return err
	}
	if err := u.track(p); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s, pid %d, log %s\n", p.URL, p.PID, p.LogFile)
	if u.cfg.consolePort != 0 {
		fmt.Fprintf(w, "console http://127.0.0.1:%d (user %s)\n", u.cfg.consolePort, s3AccessKey)
	}
	fmt.Fprintf(w, "webhook %s -> %s\n", hook.ARN(), hook.Endpoint)
	u.env["S3_ENDPOINT"] = p.URL
	u.env["S3_REGION"] = s3Region
	u.env["S3_ACCESS_KEY_ID"] = s3AccessKey
	u.env["S3_SECRET_ACCESS_KEY"] = u.sec.s3SecretKey
	u.env["WHISKFEED_NOTIFICATION_ARN"] = hook.ARN()
	u.env["WHISKFEED_HOOK_URL"] = hook.Endpoint
	u.env["WHISKFEED_WEBHOOK_TOKEN"] = u.sec.webhookToken
	u.env["WHISKFEED_ENCRYPTION_KEY"] = u.sec.encryptionKey
	return nil
}

func (u *upRun) writeEnv(_ context.Context, _ io.Writer) error {
	return writeEnvFile(u.cfg.path("stack.env"),
		"environment of the local stack, written by `go run ./tools/stack up`; load it with: set -a; . .whiskfeed/stack.env; set +a",
		u.env)
}

// rollback stops what this run started, newest first.
func (u *upRun) rollback() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := len(u.started) - 1; i >= 0; i-- {
		p := u.started[i]
		err := p.Stop(ctx)
		if err == nil {
			err = removeRecord(u.cfg, p.Name)
		}
		if err != nil && !errors.Is(err, service.ErrNotRunning) {
			fmt.Fprintf(u.cfg.out, "rollback: %v\n", err)
			continue
		}
		fmt.Fprintf(u.cfg.out, "rollback: stopped %s (pid %d)\n", p.Name, p.PID)
	}
}
