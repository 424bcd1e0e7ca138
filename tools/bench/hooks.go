package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/whiskfeed/whiskfeed/tools/bench/record"
)

const (
	hooksPuts   = 1000
	hooksWarmup = 10
	hooksP50    = 20 * time.Millisecond
	hooksP99    = 100 * time.Millisecond
	// hooksWait is how long one event may take before it counts as lost.
	hooksWait = 10 * time.Second
)

// percentile returns the nearest-rank p-th percentile of sorted ds.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// hookEvent is one measured put.
type hookEvent struct {
	returned time.Time // PutObject returned
	started  time.Time // the user's action started
}

func (e hookEvent) latency() time.Duration { return e.started.Sub(e.returned) }

func runHooksLatency(ctx context.Context, b *bench) result {
	ws, err := b.whiskStack(ctx)
	if err != nil {
		return failed(err)
	}
	coll, _, err := b.collect()
	if err != nil {
		return failed(err)
	}
	c := b.s3Client()
	bucket := "bench-hooks-" + randomHex(4)
	if err := ensureBucket(ctx, c, bucket); err != nil {
		return failed(err)
	}
	defer func() { _ = deleteBucket(context.WithoutCancel(ctx), c, bucket) }()
	start := time.Now()
	disconnect, err := ws.connect(ctx, "bench-hooks", notificationsFeed, b.minioParams(bucket))
	if err != nil {
		return failed(fmt.Errorf("create the hooks trigger: %w", err))
	}
	defer disconnect()
	b.note("created the guest's hooks trigger on bucket %s (notification registered with MinIO) in %s", bucket, since(start))

	coll.Reset()
	// put puts key and waits until its event reached the user's action.
	put := func(key string) (time.Duration, hookEvent, error) {
		begin := time.Now()
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("body of " + key)})
		ev := hookEvent{returned: time.Now()}
		if err != nil {
			return 0, ev, fmt.Errorf("put %s: %w", key, err)
		}
		ev.started, err = coll.WaitKey(ctx, key, hooksWait)
		return ev.returned.Sub(begin), ev, err
	}
	for i := range hooksWarmup {
		if _, _, err := put(fmt.Sprintf("warmup/obj-%02d", i)); err != nil {
			if errors.Is(err, record.ErrTimeout) {
				err = fmt.Errorf("warm-up event %d did not reach the user's action within %s (see the localwhisk and MinIO logs)", i, hooksWait)
			}
			return failed(err)
		}
	}
	measured := time.Now()
	var events []hookEvent
	var lat, puts []time.Duration
	lost := 0
	for i := range hooksPuts {
		dPut, ev, err := put(fmt.Sprintf("hooks/obj-%04d", i))
		switch {
		case errors.Is(err, record.ErrTimeout):
			lost++
		case err != nil:
			return failed(err)
		default:
			events = append(events, ev)
			lat = append(lat, ev.latency())
		}
		puts = append(puts, dPut)
		if (i+1)%250 == 0 {
			s := slices.Sorted(slices.Values(lat))
			b.note("%d puts: p50 %s, p99 %s so far", i+1, ms(percentile(s, 50)), ms(percentile(s, 99)))
		}
	}
	if len(lat) == 0 {
		return failed(fmt.Errorf("none of %d events reached the user's action", hooksPuts))
	}
	slices.Sort(lat)
	slices.Sort(puts)
	p50, p90, p99 := percentile(lat, 50), percentile(lat, 90), percentile(lat, 99)
	ok50, m50 := atMost(p50.Seconds(), hooksP50.Seconds())
	ok99, m99 := atMost(p99.Seconds(), hooksP99.Seconds())
	pass := ok50 && ok99 && lost == 0
	margin := "p50 " + m50 + ", p99 " + m99
	if lost > 0 {
		margin += fmt.Sprintf(", %d events lost", lost)
	}
	notes := []string{
		fmt.Sprintf("The whole hooks path on the local stack: a guest trigger created with the `%s` feed (its lifecycle action adds whiskfeed's entry to the bucket's notification configuration) and a rule to the guest's recording action. MinIO's webhook target (no queue directory: each event is sent at once) POSTs to the raw web action `hook` on localwhisk, which checks the token, reads the target's subscribers and the trigger record from pouchdb-server and fires the trigger; localwhisk's rule starts the recording action, which notes when it started and reports it.", notificationsFeed),
		fmt.Sprintf("%d puts of small objects, one at a time, after %d warm-up puts: each PutObject is followed by a wait until its event reached the action, so every event travels an idle path. Latency = action start − PutObject returned, on the same clock.", hooksPuts, hooksWarmup),
		fmt.Sprintf("Latency over %d events: p50 %s, p90 %s, p99 %s, max %s, min %s; lost (not arrived within %s): %d. PutObject itself took p50 %s, p99 %s.",
			len(lat), ms(p50), ms(p90), ms(p99), ms(lat[len(lat)-1]), ms(lat[0]), hooksWait, lost, ms(percentile(puts, 50)), ms(percentile(puts, 99))),
	}
	b.note("PutObject took p50 %s, p99 %s", ms(percentile(puts, 50)), ms(percentile(puts, 99)))
	if bd, err := hooksBreakdown(ctx, ws, measured, events); err != nil {
		b.note("no breakdown: %v", err)
		notes = append(notes, "No breakdown: "+err.Error())
	} else {
		for _, l := range bd {
			b.note("%s", l)
		}
		notes = append(notes, bd...)
	}
	if probe, err := b.probeCouch(ctx); err != nil {
		b.note("no pouchdb-server probe: %v", err)
	} else {
		b.note("%s", probe)
		notes = append(notes, probe)
	}
	return result{measured: fmt.Sprintf("p50 %s, p99 %s", ms(p50), ms(p99)), pass: pass, margin: margin, notes: notes}
}
