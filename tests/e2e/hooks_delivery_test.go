package e2e_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// reconcileWait bounds the wait for a reconcile poll: reconcile_interval
// is in whole minutes; an interval alarm first ticks 30 s after it is
// created (as upstream's alarms provider does), then every interval.
const reconcileWait = 2 * time.Minute

// testHooksQueuedRedelivery: while the user's trigger cannot be fired (the
// platform answers 503 to its fires: a proxy in front of localwhisk's API,
// which the actions reach as __OW_API_HOST, stands for an overloaded
// controller), hook retries, then answers 503; MinIO, with a queue
// directory, keeps the notification and sends it again until it is
// accepted. Once fires succeed it arrives, once.
func testHooksQueuedRedelivery(t *testing.T, art *artifacts) {
	api := newFaultProxy(t)
	hs := newHookStack(t, art, withAPIProxy(api), withQueue())
	bucket := testenv.NewBucket(t, hs.s3URL)
	const trig = "queued"
	hs.createHookTrigger(t, trig, hs.params(bucket))

	api.fail(http.StatusServiceUnavailable, func(r *http.Request) bool {
		return r.Method == http.MethodPost && r.URL.Path == "/api/v1/namespaces/"+guestNS+"/triggers/"+trig
	})
	lateETag := hs.putETag(t, bucket, "late.txt", "late")
	require.Eventually(t, func() bool {
		for _, a := range hs.hookAnswers(t) {
			if a.Status == http.StatusServiceUnavailable {
				return true
			}
		}
		return false
	}, wait, tick, "hook answers 503 while the fires fail")
	assert.NotEmpty(t, api.refusals(), "fires refused by the proxy")
	rec := hs.record(t, trig)
	assert.Zero(t, rec.Stats.EventsFired, "events fired while fires fail")
	assert.Positive(t, rec.Stats.Errors, "errors counted")
	assert.Contains(t, rec.Stats.LastError, "503")
	assert.True(t, rec.Status.Active, "a 503 does not disable the feed")
	assert.Empty(t, hs.notified(t, recorderName(trig)), "events recorded while fires fail")

	t.Log("fires succeed again: MinIO's next attempt delivers the notification")
	api.restore()
	evs := hs.awaitNotified(t, trig, 1)
	assertNotified(t, evs[0], bucket, s3feed.StatusAdded, "late.txt", lateETag)

	t.Log("the queue is drained: a later write arrives, the late one is not sent again")
	nextETag := hs.putETag(t, bucket, "next.txt", "next")
	evs = hs.awaitNotified(t, trig, 2)
	assertNotified(t, evs[1], bucket, s3feed.StatusAdded, "next.txt", nextETag)
	accepted := 0
	for _, a := range hs.hookAnswers(t) {
		if a.Status == http.StatusOK {
			accepted++
		}
	}
	assert.Equal(t, 2, accepted, "deliveries accepted by hook")
	assert.True(t, hs.record(t, trig).Status.Active)

	require.NoError(t, hs.guest.DeleteFeedTrigger(t.Context(), whisk.QName{Name: trig}))
	assert.Empty(t, hs.queues(t, bucket))
	hs.assertGone(t, trig, feed.Alarm{})
}

// testHooksReconcile: with reconcile_interval, a notification MinIO dropped
// (it has no queue directory, and a gateway in front of localwhisk answered
// 502 while it was unreachable) is fired by the next reconcile poll, once;
// what the notifications delivered is not fired again. The poll runs on its
// alarm, 30 s after CREATE.
func testHooksReconcile(t *testing.T, art *artifacts) {
	gateway := newFaultProxy(t)
	hs := newHookStack(t, art, withHookProxy(gateway))
	ctx := t.Context()
	bucket := testenv.NewBucket(t, hs.s3URL)
	const trig = "reconciled"
	hs.put(t, bucket, "before.txt", "b") // present at CREATE: never announced
	hs.createHookTrigger(t, trig, hs.params(bucket, "reconcile_interval", 1))
	alarm := hs.record(t, trig).Alarm
	require.NotEmpty(t, alarm.Rule, "reconcile_interval sets up an alarm")

	seenETag := hs.putETag(t, bucket, "seen.txt", "seen")
	evs := hs.awaitNotified(t, trig, 1)
	assertNotified(t, evs[0], bucket, s3feed.StatusAdded, "seen.txt", seenETag)

	t.Log("localwhisk is unreachable: MinIO, without a queue, drops the notification")
	gateway.fail(http.StatusBadGateway, func(r *http.Request) bool {
		return r.Method == http.MethodPost && r.URL.Path == hookPath
	})
	missedETag := hs.putETag(t, bucket, "missed.txt", "missed")
	require.Eventually(t, func() bool {
		for _, r := range gateway.refusals() {
			if r.deliveredKey() == bucket+"/missed.txt" {
				return true
			}
		}
		return false
	}, wait, tick, "MinIO tried to deliver missed.txt")
	gateway.restore()
	polls := hs.record(t, trig).Stats.Polls

	t.Log("the next reconcile poll fires it")
	require.Eventually(t, func() bool {
		rec, err := hs.store.Get(ctx, feed.RecordID(guestNS, trig))
		return err == nil && rec.Stats.Polls > polls && !rec.Lease.Held(time.Now())
	}, reconcileWait, time.Second, "no reconcile poll of %s", trig)
	evs = hs.awaitNotified(t, trig, 2)
	missed := evs[1]
	assert.Equal(t, bucket, missed.Bucket)
	assert.Equal(t, "missed.txt", missed.Key)
	assert.Equal(t, s3feed.StatusAdded, missed.Status)
	assert.Equal(t, s3feed.SourcePoll, missed.Source)
	assert.Equal(t, missedETag, missed.File.ETag)
	assert.Equal(t, s3feed.EventID(bucket, "missed.txt", missedETag, s3feed.StatusAdded), missed.EventID)
	assert.EqualValues(t, 1, hs.record(t, trig).Stats.EventsDeduped, "seen.txt, delivered, is not fired again by the poll")

	t.Log("once: a further poll fires nothing")
	var res feed.PollResult
	var err error
	require.Eventually(t, func() bool {
		var raw json.RawMessage
		raw, err = hs.system.InvokeResult(ctx, pollAction, map[string]any{feed.ParamRecord: feed.RecordID(guestNS, trig)})
		if err == nil {
			err = json.Unmarshal(raw, &res)
		}
		// A poll skipped because the alarm's poll holds the lease proves nothing.
		return err == nil && res.Skipped == ""
	}, wait, tick, "invoke %s: %v, %+v", pollAction, err, res)
	assert.Empty(t, res.Error)
	assert.Zero(t, res.Events, "events of a further poll")
	assert.Len(t, hs.notified(t, recorderName(trig)), 2, "events recorded")

	require.NoError(t, hs.guest.DeleteFeedTrigger(ctx, whisk.QName{Name: trig}))
	assert.Empty(t, hs.queues(t, bucket))
	hs.assertGone(t, trig, alarm)
	assert.Empty(t, hs.docIDs(t), "documents left in the provider's database")
}
