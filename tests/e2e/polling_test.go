package e2e_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// readResult is what READ answers, as `wsk trigger get` shows it.
type readResult struct {
	Trigger string         `json:"trigger"`
	Kind    string         `json:"kind"`
	Config  map[string]any `json:"config"`
	Status  feed.Status    `json:"status"`
	Stats   feed.Stats     `json:"stats"`
	Paused  bool           `json:"paused"`
}

func (st *stack) read(t *testing.T, name string) (readResult, string) {
	t.Helper()
	act, err := st.guest.ReadFeed(t.Context(), whisk.QName{Name: name})
	require.NoError(t, err, "READ of %s", name)
	var rr readResult
	require.NoError(t, act.Response.Decode(&rr))
	return rr, string(act.Response.Result)
}

// testPollingFeed drives one polling trigger through its whole life the way
// wsk does: CREATE, events, READ, UPDATE, PAUSE, UNPAUSE and DELETE.
func testPollingFeed(t *testing.T, art *artifacts) {
	st := newStack(t, art)
	ctx := t.Context()
	bucket := testenv.NewBucket(t, st.s3URL)
	const trig = "uploads"
	st.put(t, bucket, "a.txt", "a1")
	st.put(t, bucket, "b.txt", "b1")

	act := st.createTrigger(t, trig, st.feedParams(bucket))
	assert.NotContains(t, string(act.Response.Result), testenv.MinIOSecretKey, "CREATE's answer holds the S3 secret")
	assert.NotContains(t, string(act.Response.Result), guestKey, "CREATE's answer holds the authKey")
	alarm := st.record(t, trig).Alarm
	require.NotEmpty(t, alarm.Trigger, "the record names its alarm trigger")
	require.NotEmpty(t, alarm.Rule, "the record names its poll rule")

	t.Log("objects present before CREATE are not announced")
	assert.Empty(t, st.settle(t, trig))

	t.Log("put, overwrite and delete: one event each")
	st.put(t, bucket, "c.txt", "c1")
	st.put(t, bucket, "a.txt", "a2")
	st.del(t, bucket, "b.txt")
	evs := st.awaitEvents(t, trig, 3)
	assertEvents(t, bucket, evs,
		change{s3feed.StatusAdded, "c.txt"}, change{s3feed.StatusModified, "a.txt"}, change{s3feed.StatusDeleted, "b.txt"})

	t.Log("READ: configuration without secrets, status and statistics")
	rr, raw := st.read(t, trig)
	assert.NotContains(t, raw, testenv.MinIOSecretKey, "READ shows the S3 secret")
	assert.NotContains(t, raw, guestKey, "READ shows the authKey")
	assert.NotContains(t, rr.Config, "s3_secret_access_key")
	assert.Equal(t, "/"+guestNS+"/"+trig, rr.Trigger)
	assert.Equal(t, s3feed.KindChanges, rr.Kind)
	assert.Equal(t, bucket, rr.Config["bucket"])
	assert.Equal(t, st.s3URL, rr.Config["s3_endpoint"])
	assert.Equal(t, testenv.MinIOAccessKey, rr.Config["s3_access_key_id"])
	assert.Equal(t, pollCron, rr.Config["cron"])
	assert.True(t, rr.Status.Active, "status.active")
	assert.Nil(t, rr.Status.Reason, "status.reason while active")
	assert.NotEmpty(t, rr.Status.DateChangedISO)
	assert.False(t, rr.Paused)
	assert.Positive(t, rr.Stats.Polls)
	assert.EqualValues(t, 3, rr.Stats.EventsFired)
	assert.EqualValues(t, 2, rr.Stats.Objects, "objects a.txt and c.txt")
	assert.Zero(t, rr.Stats.Errors)

	t.Log("UPDATE events=added: deletions are no longer announced")
	_, err := st.guest.UpdateFeed(ctx, whisk.QName{Name: trig}, map[string]any{"events": "added"})
	require.NoError(t, err, "UPDATE events")
	st.quiesce(t, trig)
	st.put(t, bucket, "d.txt", "d1")
	st.del(t, bucket, "c.txt")
	evs = st.awaitEvents(t, trig, 4)
	assertEvents(t, bucket, evs[3:], change{s3feed.StatusAdded, "d.txt"})

	t.Log("UPDATE prefix=in/: only keys under it, with the events filter kept")
	_, err = st.guest.UpdateFeed(ctx, whisk.QName{Name: trig}, map[string]any{"prefix": "in/"})
	require.NoError(t, err, "UPDATE prefix")
	st.quiesce(t, trig)
	rr, _ = st.read(t, trig)
	assert.Equal(t, "in/", rr.Config["prefix"])
	assert.Equal(t, []any{"added"}, rr.Config["events"], "UPDATE keeps the settings it was not given")
	st.put(t, bucket, "in/x.txt", "x1")
	st.put(t, bucket, "out/y.txt", "y1")
	st.del(t, bucket, "d.txt")
	evs = st.awaitEvents(t, trig, 5)
	assertEvents(t, bucket, evs[4:], change{s3feed.StatusAdded, "in/x.txt"})

	t.Log("PAUSE: nothing is delivered while a control trigger on the same bucket sees the change")
	const control = "uploads-control"
	controlParams := st.feedParams(bucket)
	controlParams["prefix"], controlParams["events"] = "in/", "added"
	st.createTrigger(t, control, controlParams)
	act, err = st.guest.InvokeFeed(ctx, changesFeed, whisk.FeedPause, whisk.QName{Name: trig}, nil)
	require.NoError(t, err, "PAUSE")
	var paused struct {
		Paused bool        `json:"paused"`
		Status feed.Status `json:"status"`
	}
	require.NoError(t, act.Response.Decode(&paused))
	assert.True(t, paused.Paused)
	assert.False(t, paused.Status.Active)
	if assert.NotNil(t, paused.Status.Reason) {
		assert.Equal(t, feed.ReasonUser, paused.Status.Reason.Kind)
	}
	st.quiesce(t, trig)
	rule, err := st.system.Rule(ctx, whisk.QName{Namespace: systemNS, Name: alarm.Rule})
	require.NoError(t, err)
	assert.Equal(t, whisk.RuleInactive, rule.Status, "the poll rule of a paused trigger")
	pollsAtPause := st.record(t, trig).Stats.Polls
	st.put(t, bucket, "in/p1.txt", "p1")
	assertEvents(t, bucket, st.awaitEvents(t, control, 1), change{s3feed.StatusAdded, "in/p1.txt"})
	assert.Len(t, st.recorded(t, recorderName(trig)), 5, "events delivered while paused")
	assert.Equal(t, pollsAtPause, st.record(t, trig).Stats.Polls, "polls while paused")
	rr, _ = st.read(t, trig)
	assert.True(t, rr.Paused, "READ while paused")
	assert.False(t, rr.Status.Active, "READ status while paused")

	t.Log("UNPAUSE: the change made while paused arrives")
	_, err = st.guest.InvokeFeed(ctx, changesFeed, whisk.FeedUnpause, whisk.QName{Name: trig}, nil)
	require.NoError(t, err, "UNPAUSE")
	rule, err = st.system.Rule(ctx, whisk.QName{Namespace: systemNS, Name: alarm.Rule})
	require.NoError(t, err)
	assert.Equal(t, whisk.RuleActive, rule.Status, "the poll rule after UNPAUSE")
	evs = st.awaitEvents(t, trig, 6)
	assertEvents(t, bucket, evs[5:], change{s3feed.StatusAdded, "in/p1.txt"})
	rr, _ = st.read(t, trig)
	assert.False(t, rr.Paused)
	assert.True(t, rr.Status.Active)

	t.Log("DELETE: the trigger, its record, chunks, alarm and rule are gone")
	controlAlarm := st.record(t, control).Alarm
	require.NotEmpty(t, st.docsOf(t, trig), "the trigger has documents before DELETE")
	require.NoError(t, st.guest.DeleteFeedTrigger(ctx, whisk.QName{Name: trig}))
	require.NoError(t, st.guest.DeleteFeedTrigger(ctx, whisk.QName{Name: control}))
	st.assertGone(t, trig, alarm)
	st.assertGone(t, control, controlAlarm)
	triggers, rules := st.whiskfeedEntities(t)
	assert.Empty(t, triggers, "whiskfeed alarm triggers left in whisk.system")
	assert.Empty(t, rules, "whiskfeed poll rules left in whisk.system")
	ids := st.docIDs(t)
	assert.Empty(t, ids, "documents left in the provider's database")
	if len(ids) > 0 {
		b, _ := json.Marshal(ids)
		t.Logf("left: %s", b)
	}
}
