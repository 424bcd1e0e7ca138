package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// down stops the processes recorded in the pid files, newest first, each
// only if its PID still is the process that up started.
func down(ctx context.Context, cfg config) error {
	recs, err := readRecords(cfg)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		fmt.Fprintf(cfg.out, "the stack is not up (no pid files in %s)\n", cfg.path("pids"))
		return nil
	}
	steps := make([]step, 0, len(recs))
	for i := len(recs) - 1; i >= 0; i-- {
		rec := recs[i]
		steps = append(steps, step{
			name: fmt.Sprintf("stop %s (pid %d)", rec.Name, rec.PID),
			run: func(ctx context.Context, _ io.Writer) error {
				p, err := service.Attach(rec)
				switch {
				case errors.Is(err, service.ErrNotRunning):
					return errors.Join(removeRecord(cfg, rec.Name), skip("was not running"))
				case errors.Is(err, service.ErrNotSameProcess):
					return errors.Join(removeRecord(cfg, rec.Name), skip("pid %d now belongs to another process; left alone", rec.PID))
				case err != nil:
					return err
				}
				if err := p.Stop(ctx); err != nil {
					return err
				}
				return removeRecord(cfg, rec.Name)
			},
		})
	}
	return runSteps(ctx, cfg.out, steps)
}

// readyPath is where each service answers when it is up.
var readyPath = map[string]string{
	"couchdb":    "/",
	"minio":      "/minio/health/ready",
	"localwhisk": "/api/v1",
}

// status prints one line per service and fails when a recorded process is
// not up.
func status(ctx context.Context, cfg config) error {
	recs, err := readRecords(cfg)
	if err != nil {
		return err
	}
	byName := map[string]service.Record{}
	names := append([]string(nil), services...)
	for _, r := range recs {
		if _, known := readyPath[r.Name]; !known {
			names = append(names, r.Name)
		}
		byName[r.Name] = r
	}
	down := 0
	client := &http.Client{Timeout: 2 * time.Second}
	for _, name := range names {
		rec, ok := byName[name]
		if !ok {
			fmt.Fprintf(cfg.out, "%-11s not started\n", name)
			continue
		}
		state := "up"
		if _, err := service.Attach(rec); err != nil {
			state, down = "stopped ("+err.Error()+")", down+1
		} else if !answers(ctx, client, rec.URL+readyPath[name]) {
			state, down = "running, not answering", down+1
		}
		fmt.Fprintf(cfg.out, "%-11s %-22s pid %-7d %-24s log %s\n", name, state, rec.PID, rec.URL, rec.LogFile)
	}
	if down > 0 {
		return fmt.Errorf("%d of %d recorded services are not up", down, len(recs))
	}
	return nil
}

func answers(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// printEnv prints stack.env.
func printEnv(cfg config) error {
	b, err := os.ReadFile(cfg.path("stack.env"))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no %s: run `go run ./tools/stack up` first", cfg.path("stack.env"))
	}
	if err != nil {
		return err
	}
	_, err = cfg.out.Write(b)
	return err
}
