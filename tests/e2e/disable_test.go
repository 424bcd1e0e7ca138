package e2e_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// testTriggerDeletedBehindFeed: when the user deletes the trigger without
// telling the feed, the next fire gets 404, which disables the feed
// (reason AUTO, 404) and removes its alarm trigger and rule; a later feed
// DELETE with the key that created it cleans up the record.
func testTriggerDeletedBehindFeed(t *testing.T, art *artifacts) {
	st := newStack(t, art)
	ctx := t.Context()
	bucket := testenv.NewBucket(t, st.s3URL)
	const trig = "doomed"
	st.createTrigger(t, trig, st.feedParams(bucket))
	alarm := st.record(t, trig).Alarm
	require.NotEmpty(t, alarm.Rule)
	st.waitPolls(t, trig, 1)

	require.NoError(t, st.guest.DeleteTrigger(ctx, whisk.QName{Name: trig}), "delete the trigger directly, not through its feed")
	st.put(t, bucket, "after-delete.txt", "x")

	var rec *feed.Record
	require.Eventually(t, func() bool {
		r, err := st.store.Get(ctx, feed.RecordID(guestNS, trig))
		if err != nil {
			return false
		}
		rec = r
		return !r.Status.Active
	}, wait, tick, "the feed is disabled after a fire answered 404")
	if assert.NotNil(t, rec.Status.Reason) {
		assert.Equal(t, feed.ReasonAuto, rec.Status.Reason.Kind)
		assert.Equal(t, 404, rec.Status.Reason.StatusCode)
		assert.NotEmpty(t, rec.Status.Reason.Message)
	}
	assert.False(t, rec.Paused)
	assert.Positive(t, rec.Stats.Errors)
	assert.NotEmpty(t, rec.Stats.LastError)

	require.Eventually(t, func() bool {
		r, err := st.store.Get(ctx, feed.RecordID(guestNS, trig))
		if err != nil || r.Alarm != (feed.Alarm{}) {
			return false
		}
		_, terr := st.system.Trigger(ctx, whisk.QName{Namespace: systemNS, Name: alarm.Trigger})
		_, rerr := st.system.Rule(ctx, whisk.QName{Namespace: systemNS, Name: alarm.Rule})
		return whisk.IsNotFound(terr) && whisk.IsNotFound(rerr)
	}, wait, tick, "the alarm trigger %s and rule %s of a disabled feed are removed", alarm.Trigger, alarm.Rule)
	triggers, rules := st.whiskfeedEntities(t)
	assert.Empty(t, triggers, "alarm triggers left in whisk.system")
	assert.Empty(t, rules, "poll rules left in whisk.system")
	assert.Empty(t, st.health(t, false).Orphans, "a disabled feed without alarm is no orphan")

	// The trigger is gone, so only the key stored with the record may
	// remove what is left: what `wsk trigger delete` would do is impossible
	// now, so the user (or wskdeploy) calls the feed's DELETE directly.
	_, err := st.guest.InvokeFeed(ctx, changesFeed, whisk.FeedDelete, whisk.QName{Name: trig}, nil)
	require.NoError(t, err, "feed DELETE of a trigger that is gone, with the key that created it")
	st.assertGone(t, trig, alarm)
}
