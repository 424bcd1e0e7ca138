package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// rollbackTimeout bounds deleting a trigger whose feed CREATE failed; it runs
// even when the caller's context has ended.
const rollbackTimeout = 30 * time.Second

// Deploy deploys the manifest as wskdeploy does: GET / (the server's
// runtimes), then packages, dependency bindings, actions, triggers and rules,
// all written with overwrite=true and in manifest order. A trigger with a
// feed is created through the feed protocol (an existing one first gets a
// feed DELETE); when the feed's CREATE fails the trigger is deleted and the
// deployment stops before the rules. Every rule is activated after it is
// written. The manifest is checked completely (keys, inputs, files) before
// the first request. Deploy blocks until done; it prints one line per entity
// to Options.Out.
func Deploy(ctx context.Context, opts Options) error {
	if err := opts.validate("deploy"); err != nil {
		return err
	}
	m, err := loadManifest(opts.ManifestPath)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	p, err := (&builder{m: m, env: opts.env(), params: opts.Params, full: true}).build()
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	r, err := newRun(opts, m)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	if kinds := r.runtimes(ctx); kinds != nil {
		if err := checkRuntimes(m, p, kinds); err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
	}
	if err := r.deploy(ctx, p); err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	return nil
}

func (r *run) deploy(ctx context.Context, p *plan) error {
	for _, pp := range p.packages {
		err := r.step(fmt.Sprintf("deploy package %s%s", pp.name, paramList(pp.pkg.Parameters)), func() (string, error) {
			return "", r.write(ctx, func() error {
				_, err := r.c.PutPackage(ctx, whisk.QName{Name: pp.name}, pp.pkg, whisk.Overwrite)
				return err
			})
		})
		if err != nil {
			return err
		}
	}
	for _, b := range p.bindings {
		desc := fmt.Sprintf("deploy binding %s → /%s/%s%s", b.name, b.pkg.Binding.Namespace, b.pkg.Binding.Name, paramList(b.pkg.Parameters))
		err := r.step(desc, func() (string, error) {
			return "", r.write(ctx, func() error {
				_, err := r.c.PutPackage(ctx, whisk.QName{Name: b.name}, b.pkg, whisk.Overwrite)
				return err
			})
		})
		if err != nil {
			return err
		}
	}
	for _, a := range p.actions {
		err := r.step(fmt.Sprintf("deploy action %s%s", a.name, paramList(a.action.Parameters)), func() (string, error) {
			return "", r.write(ctx, func() error {
				_, err := r.c.PutAction(ctx, a.name, a.action, whisk.Overwrite)
				return err
			})
		})
		if err != nil {
			return err
		}
	}
	for _, t := range p.triggers {
		var err error
		if t.feed != "" {
			desc := fmt.Sprintf("deploy trigger %s (feed %s)%s", t.name, t.feed, paramList(t.params))
			err = r.step(desc, func() (string, error) { return r.deployFeedTrigger(ctx, t) })
		} else {
			err = r.step(fmt.Sprintf("deploy trigger %s%s", t.name, paramList(t.params)), func() (string, error) {
				return "", r.write(ctx, func() error {
					_, err := r.c.PutTrigger(ctx, whisk.QName{Name: t.name}, t.trigger, whisk.Overwrite)
					return err
				})
			})
		}
		if err != nil {
			return err
		}
	}
	for _, ru := range p.rules {
		err := r.step(fmt.Sprintf("deploy rule %s (%s → %s)", ru.name, ru.trigger, ru.action), func() (string, error) {
			if err := r.write(ctx, func() error {
				_, err := r.c.PutRule(ctx, whisk.QName{Name: ru.name}, ru.trigger, ru.action, whisk.Overwrite)
				return err
			}); err != nil {
				return "", err
			}
			// wskdeploy activates every rule: a rule whose trigger was
			// re-created by a feed redeploy would otherwise stay inactive.
			return "", r.c.SetRuleStatus(ctx, whisk.QName{Name: ru.name}, whisk.RuleActive)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// deployFeedTrigger creates a feed trigger as wskdeploy does: an existing
// trigger first gets a feed DELETE (its outcome ignored); then the trigger is
// written (feed annotation, publish true, no parameters) and the feed invoked
// with CREATE, the inputs, authKey and triggerName. A failed CREATE deletes
// the trigger (without a feed DELETE). A CREATE still running after the
// server's blocking wait counts as done, as in wskdeploy.
func (r *run) deployFeedTrigger(ctx context.Context, t plannedTrigger) (string, error) {
	q := whisk.QName{Name: t.name}
	if _, err := r.c.Trigger(ctx, q); err == nil {
		_ = r.deleteFeed(ctx, t)
	}
	if err := r.write(ctx, func() error {
		_, err := r.c.PutTrigger(ctx, q, t.trigger, whisk.Overwrite)
		return err
	}); err != nil {
		return "", err
	}
	err := r.write(ctx, func() error {
		_, err := r.c.InvokeFeed(ctx, t.feedQ, whisk.FeedCreate, q, t.params.Map())
		return err
	})
	var pending *whisk.PendingError
	if errors.As(err, &pending) {
		return fmt.Sprintf("feed CREATE still running as activation %s after the server's wait", pending.ActivationID), nil
	}
	if err == nil {
		return "", nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if derr := r.write(rctx, func() error { return r.c.DeleteTrigger(rctx, q) }); derr != nil && !whisk.IsNotFound(derr) {
		return "", fmt.Errorf("%w (then deleting the trigger failed: %w)", err, derr)
	}
	return "", fmt.Errorf("%w (trigger %s deleted)", err, t.name)
}

// deleteFeed tells a feed trigger's feed that the trigger goes away: GET the
// trigger; when it exists, invoke the manifest's feed with DELETE (authKey
// and triggerName only). A missing trigger is not an error.
func (r *run) deleteFeed(ctx context.Context, t plannedTrigger) error {
	q := whisk.QName{Name: t.name}
	if _, err := r.c.Trigger(ctx, q); err != nil {
		if whisk.IsNotFound(err) {
			return nil
		}
		return err
	}
	return r.write(ctx, func() error {
		_, err := r.c.InvokeFeed(ctx, t.feedQ, whisk.FeedDelete, q, nil)
		return err
	})
}

// run holds what one Deploy or Undeploy uses; it holds no context.
type run struct {
	out   io.Writer
	c     *whisk.Client
	hc    *http.Client
	delay time.Duration
}

func newRun(opts Options, m *manifest) (*run, error) {
	ns := opts.Namespace
	if ns == "" {
		ns = m.namespace
	}
	if ns == "" {
		ns = whisk.DefaultNamespace
	}
	hc := opts.httpClient()
	c, err := whisk.New(opts.APIHost, opts.AuthKey,
		whisk.WithNamespace(ns),
		whisk.WithHTTPClient(hc),
		// wskdeploy repeats a write only after 409 "Concurrent
		// modification" (see write); nothing else is retried.
		whisk.WithRetry(whisk.NoRetry()),
		whisk.WithUserAgent("localwhisk-deploy"))
	if err != nil {
		return nil, err
	}
	return &run{out: opts.out(), c: c, hc: hc, delay: opts.retryDelay()}, nil
}

// step prints "desc … " then the outcome: "ok" (with an optional note) or
// "failed: err". It returns the error.
func (r *run) step(desc string, f func() (string, error)) error {
	fmt.Fprintf(r.out, "%s … ", desc)
	note, err := f()
	switch {
	case err != nil:
		fmt.Fprintf(r.out, "failed: %v\n", err)
	case note != "":
		fmt.Fprintf(r.out, "ok (%s)\n", note)
	default:
		fmt.Fprintln(r.out, "ok")
	}
	return err
}

// write runs a write request, repeating it (3 attempts in all, RetryDelay
// apart) only while it fails with 409 "Concurrent modification", as wskdeploy
// does.
func (r *run) write(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt >= writeAttempts || !isConcurrentModification(err) {
			return err
		}
		t := time.NewTimer(r.delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func isConcurrentModification(err error) bool {
	var ae *whisk.APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusConflict &&
		strings.Contains(ae.Message, "Concurrent modification")
}

// runtimes asks the API host root (GET /, without credentials) for the
// server's runtimes, as wskdeploy does before anything else. It returns the
// kinds an action may use (non-deprecated kinds, and "<family>:default" for
// defaults), or nil when the server does not say: kinds are then left to the
// server to check.
func (r *run) runtimes(ctx context.Context) map[string]bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.c.APIHost()+"/", nil)
	if err != nil {
		return nil
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	res, err := r.hc.Do(req)
	if err != nil {
		fmt.Fprintf(r.out, "runtimes: GET %s/ failed (%v); runtime kinds are left to the server to check\n", r.c.APIHost(), err)
		return nil
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil || res.StatusCode != http.StatusOK {
		return nil
	}
	if ct := res.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil
		}
	}
	var info struct {
		Runtimes map[string][]struct {
			Kind       string `json:"kind"`
			Default    bool   `json:"default"`
			Deprecated bool   `json:"deprecated"`
		} `json:"runtimes"`
	}
	if json.Unmarshal(body, &info) != nil || len(info.Runtimes) == 0 {
		return nil
	}
	kinds := map[string]bool{}
	for _, family := range info.Runtimes {
		for _, rt := range family {
			if !rt.Deprecated {
				kinds[rt.Kind] = true
			}
			if rt.Default {
				prefix, _, _ := strings.Cut(rt.Kind, ":")
				kinds[prefix+":default"] = true
			}
		}
	}
	return kinds
}

// checkRuntimes rejects a zip action whose runtime the server does not list,
// as wskdeploy does.
func checkRuntimes(m *manifest, p *plan, kinds map[string]bool) error {
	for _, a := range p.actions {
		if !a.zip || kinds[a.def.runtime] {
			continue
		}
		list := make([]string, 0, len(kinds))
		for k := range kinds {
			list = append(list, k)
		}
		sort.Strings(list)
		return &ManifestError{File: m.file, Line: a.def.runtimeLine,
			Where: fmt.Sprintf("package %q action %q", a.pkgName, a.def.name), Key: "runtime",
			Msg: fmt.Sprintf("%q is not a runtime of this server (it offers: %s)", a.def.runtime, strings.Join(list, ", "))}
	}
	return nil
}

// paramList renders parameters for a progress line, secrets redacted.
func paramList(kv whisk.KeyValues) string {
	if len(kv) == 0 {
		return ""
	}
	parts := make([]string, len(kv))
	for i, e := range kv {
		parts[i] = e.Key + "=" + display(e.Key, e.Value)
	}
	return " (inputs: " + strings.Join(parts, ", ") + ")"
}
