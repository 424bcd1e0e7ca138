package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tools/bench/record"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/deploy"
	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// Upstream's well-known development keys, which localwhisk knows.
const (
	systemKey = "789c46b1-71f6-4ed5-8c54-816aa4f8c502:abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
	guestKey  = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)

const (
	systemNS     = "whisk.system"
	guestNS      = "guest"
	whiskDB      = "bench_whisk"
	recorderName = "bench-recorder"
	actionKind   = "go:1.24"
)

var (
	changesFeed       = whisk.QName{Namespace: systemNS, Package: "s3-trigger-feed", Name: "changes"}
	notificationsFeed = whisk.QName{Namespace: systemNS, Package: "s3-trigger-feed", Name: "notifications"}
	pollAction        = whisk.QName{Namespace: systemNS, Package: "s3-trigger-feed-web", Name: "poll"}
)

// whiskStack is localwhisk with manifest.yaml deployed into whisk.system
// (state in the bench's pouchdb-server), and the guest's recording action.
type whiskStack struct {
	url    string
	system *whisk.Client
	guest  *whisk.Client
}

// whiskStack starts localwhisk, deploys the manifest and creates the
// recorder action, once.
func (b *bench) whiskStack(ctx context.Context) (*whiskStack, error) {
	if b.whisk != nil {
		return b.whisk, nil
	}
	couchURL, err := b.couch(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := b.minio(ctx); err != nil {
		return nil, err
	}
	dist, err := b.pack(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	bin := filepath.Join(b.workDir, "localwhisk")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./tools/localwhisk")
	build.Dir = b.root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build localwhisk: %w\n%s", err, out)
	}
	p, err := service.StartProcess(ctx, service.ProcessOptions{
		Name:     "localwhisk",
		Path:     bin,
		Args:     []string{"-addr", "127.0.0.1:" + strconv.Itoa(b.whiskPort), "-work", filepath.Join(b.workDir, "whisk")},
		Port:     b.whiskPort,
		URL:      b.whiskURL(),
		ReadyURL: b.whiskURL() + "/api/v1",
		LogFile:  b.logFile("localwhisk"),
	})
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, p)

	// The manifest names its zips relative to itself: dist/<action>.zip.
	manifest, err := os.ReadFile(filepath.Join(b.root, "manifest.yaml"))
	if err != nil {
		return nil, fmt.Errorf("read manifest.yaml: %w", err)
	}
	manifestPath := filepath.Join(filepath.Dir(dist), "manifest.yaml")
	if err := os.WriteFile(manifestPath, manifest, 0o644); err != nil {
		return nil, err
	}
	env := map[string]string{
		"WHISKFEED_COUCHDB_URL":      couchURL,
		"WHISKFEED_ENCRYPTION_KEY":   b.encryptionKey,
		"WHISKFEED_WEBHOOK_TOKEN":    b.webhookToken,
		"WHISKFEED_NOTIFICATION_ARN": service.Webhook{ID: webhookID}.ARN(),
	}
	var out bytes.Buffer
	err = deploy.Deploy(ctx, deploy.Options{
		ManifestPath: manifestPath, APIHost: b.whiskURL(), AuthKey: systemKey, Namespace: systemNS,
		Params: map[string]string{"couchdb_database": whiskDB}, Out: &out,
		Env: func(k string) string { return env[k] },
	})
	if err != nil {
		return nil, fmt.Errorf("deploy manifest.yaml into localwhisk: %w\n%s", err, out.String())
	}
	ws := &whiskStack{url: b.whiskURL()}
	if ws.system, err = whisk.New(ws.url, systemKey, whisk.WithNamespace(systemNS)); err != nil {
		return nil, err
	}
	if ws.guest, err = whisk.New(ws.url, guestKey, whisk.WithNamespace(guestNS)); err != nil {
		return nil, err
	}
	_, collURL, err := b.collect()
	if err != nil {
		return nil, err
	}
	code, err := os.ReadFile(filepath.Join(dist, "recorder.zip"))
	if err != nil {
		return nil, fmt.Errorf("read the recorder action: %w", err)
	}
	_, err = ws.guest.PutAction(ctx, whisk.QName{Name: recorderName}, whisk.Action{
		Exec:       &whisk.Exec{Kind: actionKind, Code: base64.StdEncoding.EncodeToString(code)},
		Parameters: whisk.KeyValues{{Key: record.ParamURL, Value: collURL}},
	}, whisk.Overwrite)
	if err != nil {
		return nil, fmt.Errorf("create the recorder action: %w", err)
	}
	b.note("started localwhisk, deployed manifest.yaml as whisk.system and the guest's recorder action in %s", since(start))
	b.whisk = ws
	return ws, nil
}

// connect creates the guest's trigger with feed and params, and a rule from
// it to the recorder. The returned function removes both.
func (ws *whiskStack) connect(ctx context.Context, trigger string, feed whisk.QName, params map[string]any) (func(), error) {
	t := whisk.QName{Name: trigger}
	if _, err := ws.guest.CreateFeedTrigger(ctx, t, feed, params); err != nil {
		return nil, err
	}
	rule := whisk.QName{Name: trigger + "-rule"}
	if _, err := ws.guest.PutRule(ctx, rule, t, whisk.QName{Name: recorderName}, whisk.Overwrite); err != nil {
		_ = ws.guest.DeleteFeedTrigger(context.WithoutCancel(ctx), t)
		return nil, fmt.Errorf("create rule %s: %w", rule, err)
	}
	return func() {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
		defer cancel()
		_ = ws.guest.DeleteRule(c, rule)
		_ = ws.guest.DeleteFeedTrigger(c, t)
	}, nil
}

// durations returns the durations of the newest activations of action
// (name without namespace, e.g. "hook") in c's namespace, at most limit.
func durations(ctx context.Context, c *whisk.Client, action string, since time.Time) ([]time.Duration, error) {
	var ds []time.Duration
	acts, err := c.Activations(ctx, whisk.ActivationQuery{ListOptions: whisk.ListOptions{Limit: 200}, Since: since, Docs: true})
	if err != nil {
		return nil, err
	}
	for _, a := range acts {
		if a.Name == action {
			ds = append(ds, time.Duration(a.Duration)*time.Millisecond)
		}
	}
	return ds, nil
}
