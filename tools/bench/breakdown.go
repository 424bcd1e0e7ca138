package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// activationsSince lists every activation of c's namespace named name that
// started at or after since, oldest first.
func activationsSince(ctx context.Context, c *whisk.Client, name string, since time.Time) ([]whisk.Activation, error) {
	var out []whisk.Activation
	for skip := 0; ; skip += 200 {
		page, err := c.Activations(ctx, whisk.ActivationQuery{ListOptions: whisk.ListOptions{Limit: 200, Skip: skip}, Since: since})
		if err != nil {
			return nil, err
		}
		for _, a := range page {
			if a.Name == name {
				out = append(out, a)
			}
		}
		if len(page) < 200 {
			break
		}
	}
	slices.SortFunc(out, func(a, b whisk.Activation) int { return int(a.Start - b.Start) })
	return out, nil
}

// hooksBreakdown splits each event's latency with the activation records of
// localwhisk (millisecond clock): PutObject returned → hook activation
// started (MinIO's delivery and localwhisk's web dispatch); → trigger
// activation (the hook's CouchDB reads and the fire); → recording action
// started (localwhisk's rule and action start). Puts were sequential, so the
// n-th activation of each kind belongs to the n-th event.
func hooksBreakdown(ctx context.Context, ws *whiskStack, since time.Time, events []hookEvent) ([]string, error) {
	// The last hook activation is recorded when it ends, after its fire.
	var hooks, fires []whisk.Activation
	for wait := time.Now().Add(10 * time.Second); ; {
		var err error
		if hooks, err = activationsSince(ctx, ws.system, "hook", since); err != nil {
			return nil, err
		}
		if fires, err = activationsSince(ctx, ws.guest, "bench-hooks", since); err != nil {
			return nil, err
		}
		if len(hooks) >= len(events) && len(fires) >= len(events) || time.Now().After(wait) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(hooks) != len(events) || len(fires) != len(events) {
		return nil, fmt.Errorf("%d hook and %d trigger activations for %d events: cannot pair them", len(hooks), len(fires), len(events))
	}
	var toHook, toFire, toAction, hookRun, hookWait []time.Duration
	type slow struct{ total, toHook, toFire, toAction time.Duration }
	var all []slow
	for i, ev := range events {
		h := time.UnixMilli(hooks[i].Start)
		f := time.UnixMilli(fires[i].Start)
		s := slow{total: ev.latency(), toHook: h.Sub(ev.returned), toFire: f.Sub(h), toAction: ev.started.Sub(f)}
		all = append(all, s)
		toHook, toFire, toAction = append(toHook, s.toHook), append(toFire, s.toFire), append(toAction, s.toAction)
		hookRun = append(hookRun, time.Duration(hooks[i].Duration)*time.Millisecond)
		hookWait = append(hookWait, waitTime(hooks[i]))
	}
	for _, ds := range [][]time.Duration{toHook, toFire, toAction, hookRun, hookWait} {
		slices.Sort(ds)
	}
	slices.SortFunc(all, func(a, b slow) int { return int(b.total - a.total) })
	tail := all[:max(len(all)/100, 1)]
	var tHook, tFire, tAction, tTotal time.Duration
	for _, s := range tail {
		tHook, tFire, tAction, tTotal = tHook+s.toHook, tFire+s.toFire, tAction+s.toAction, tTotal+s.total
	}
	share := func(d time.Duration) float64 { return 100 * d.Seconds() / tTotal.Seconds() }
	return []string{
		fmt.Sprintf("Breakdown from localwhisk's activation records (millisecond clock): PutObject returned → hook activation started (MinIO's delivery, localwhisk's web dispatch; negative when MinIO sent the event before its answer to the PUT reached the client) p50 %s, p99 %s; → trigger fired (the hook's CouchDB reads and the fire) p50 %s, p99 %s; → recording action started (rule, action start) p50 %s, p99 %s. The hook activation ran p50 %s, p99 %s in all (its statistics write follows the fire), after waiting p50 %s, p99 %s for a free process (localwhisk's waitTime).",
			ms(percentile(toHook, 50)), ms(percentile(toHook, 99)), ms(percentile(toFire, 50)), ms(percentile(toFire, 99)),
			ms(percentile(toAction, 50)), ms(percentile(toAction, 99)), ms(percentile(hookRun, 50)), ms(percentile(hookRun, 99)), ms(percentile(hookWait, 50)), ms(percentile(hookWait, 99))),
		fmt.Sprintf("The slowest 1%% (%d events, mean %s): %.0f%% before the hook started, %.0f%% in the hook before its fire, %.0f%% from the fire to the action.",
			len(tail), ms(tTotal/time.Duration(len(tail))), share(tHook), share(tFire), share(tAction)),
	}, nil
}

// probeCouch times what the hook does to pouchdb-server before it fires:
// reads of a trigger record (and a read-modify-write, what it does after),
// 300 each, on the bench's server, in a scratch database.
func (b *bench) probeCouch(ctx context.Context) (string, error) {
	couchURL, err := b.couch(ctx)
	if err != nil {
		return "", err
	}
	st, err := feed.OpenStore(ctx, couchURL, "bench_probe")
	if err != nil {
		return "", err
	}
	defer st.Close()
	rec := feed.NewRecord("probe", "bench", "probe-"+randomHex(4))
	if err := st.Create(ctx, rec); err != nil {
		return "", err
	}
	var gets, updates, opens []time.Duration
	for range 300 {
		t := time.Now()
		s2, err := feed.OpenStore(ctx, couchURL, "bench_probe")
		if err != nil {
			return "", err
		}
		opens = append(opens, time.Since(t))
		_ = s2.Close()
		t = time.Now()
		if _, err := st.Get(ctx, rec.ID); err != nil {
			return "", err
		}
		gets = append(gets, time.Since(t))
		t = time.Now()
		if _, err := st.Update(ctx, rec.ID, func(r *feed.Record) error { r.Stats.Polls++; return nil }); err != nil {
			return "", err
		}
		updates = append(updates, time.Since(t))
	}
	for _, ds := range [][]time.Duration{gets, updates, opens} {
		slices.Sort(ds)
	}
	return fmt.Sprintf("pouchdb-server alone, probed right after (300 sequential rounds, databases on disk as the local stack keeps them): opening the store (a HEAD of the database) p50 %s, p99 %s; reading a trigger record p50 %s, p99 %s; updating it (read, then write) p50 %s, p99 %s.",
		ms(percentile(opens, 50)), ms(percentile(opens, 99)), ms(percentile(gets, 50)), ms(percentile(gets, 99)), ms(percentile(updates, 50)), ms(percentile(updates, 99))), nil
}

// waitTime reads the waitTime annotation of an activation: how long it
// waited between its request and its start, in milliseconds.
func waitTime(a whisk.Activation) time.Duration {
	for _, kv := range a.Annotations {
		if kv.Key == "waitTime" {
			if v, ok := kv.Value.(float64); ok {
				return time.Duration(v) * time.Millisecond
			}
		}
	}
	return 0
}
