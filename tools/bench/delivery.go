package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
)

const (
	deliveryObjects = 10_000
	deliveryBatch   = 100
	deliveryLimit   = 15 * time.Second
	deliveryWait    = 3 * time.Minute
	// deliveryCron never fires during a run: the bench invokes the poll
	// itself.
	deliveryCron = "0 0 1 1 *"
)

func runDelivery(ctx context.Context, b *bench) result {
	ws, err := b.whiskStack(ctx)
	if err != nil {
		return failed(err)
	}
	coll, _, err := b.collect()
	if err != nil {
		return failed(err)
	}
	c := b.s3Client()
	bucket := "bench-delivery-" + randomHex(4)
	if err := ensureBucket(ctx, c, bucket); err != nil {
		return failed(err)
	}
	defer func() { _ = deleteBucket(context.WithoutCancel(ctx), c, bucket) }()
	params := b.minioParams(bucket)
	params["batch_size"] = deliveryBatch
	params["cron"] = deliveryCron
	const trigger = "bench-delivery"
	start := time.Now()
	disconnect, err := ws.connect(ctx, trigger, changesFeed, params)
	if err != nil {
		return failed(fmt.Errorf("create the polling trigger: %w", err))
	}
	defer disconnect()
	b.note("created the guest's polling trigger on the empty bucket %s (batch_size %d) in %s", bucket, deliveryBatch, since(start))

	keys := make([]string, deliveryObjects)
	for i := range keys {
		keys[i] = fmt.Sprintf("delivery/obj-%05d", i)
	}
	start = time.Now()
	if err := putAll(ctx, c, bucket, keys, func(k string) string { return "body of " + k }, nil); err != nil {
		return failed(err)
	}
	b.note("put %s objects in %s (untimed); invoking the poll action …", count(deliveryObjects), since(start))

	coll.Reset()
	t0 := time.Now()
	id, err := ws.system.InvokeAsync(ctx, pollAction, map[string]any{feed.ParamRecord: feed.RecordID(guestNS, trigger)})
	if err != nil {
		return failed(fmt.Errorf("invoke %s: %w", pollAction, err))
	}
	last, got, err := coll.WaitEvents(ctx, deliveryObjects, deliveryWait)
	if err != nil {
		return failed(fmt.Errorf("%d of %d events reached the user's action within %s: %w", got, deliveryObjects, deliveryWait, err))
	}
	took := last.Sub(t0)
	var poll feed.PollResult
	pollNote := ""
	if act, err := ws.system.Activation(ctx, id); err == nil {
		_ = json.Unmarshal(act.Response.Result, &poll)
		pollNote = fmt.Sprintf(" The poll activation ran %s and reported %d events fired for %d objects.", ms(time.Duration(act.Duration)*time.Millisecond), poll.Events, poll.Objects)
	}
	b.note("%s events received by the user's action %s after the poll's start", count(got), ms(took))
	pass, margin := atMost(took.Seconds(), deliveryLimit.Seconds())
	return result{measured: fmt.Sprintf("%s to the last of %s events", ms(took), count(got)), pass: pass, margin: margin, notes: []string{
		fmt.Sprintf("A guest trigger created with the `%s` feed (batch_size %d, a cron that never fires during the run) on an empty MinIO bucket, a rule to the guest's recording action; then %s objects put (untimed).", changesFeed, deliveryBatch, count(deliveryObjects)),
		fmt.Sprintf("Timed from the non-blocking invoke of `%s` as whisk.system (what the alarm rule does on a tick) to the start of the recording action that received the last event: the poll lists, diffs, fires the trigger %d times with %d events each at localwhisk (which starts a recording action per fire, at most 2 processes at once), and stores the snapshot.%s", pollAction, deliveryObjects/deliveryBatch, deliveryBatch, pollNote),
		fmt.Sprintf("localwhisk runs without a fires-per-minute limit here. Under OpenWhisk's default of 60 fires a minute per namespace, %d fires would need more than a minute (the poll retries 429s with backoff); larger batches (up to 1,000 events, within the 1 MB payload limit) need fewer fires.", deliveryObjects/deliveryBatch),
	}}
}
