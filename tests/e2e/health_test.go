package e2e_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// orphan is the identity of a reported orphan.
type orphan struct{ Kind, Name string }

func orphansOf(rep feed.HealthReport) []orphan {
	out := []orphan{}
	for _, o := range rep.Orphans {
		out = append(out, orphan{o.Kind, o.Name})
	}
	return out
}

// testHealth: the health action reports the deployment, finds an orphan of
// each kind and, with repair=true, repairs them.
func testHealth(t *testing.T, art *artifacts) {
	st := newStack(t, art)
	ctx := t.Context()
	bucket := testenv.NewBucket(t, st.s3URL)
	const trig = "watched"
	st.createTrigger(t, trig, st.feedParams(bucket))
	alarm := st.record(t, trig).Alarm
	require.NotEmpty(t, alarm.Rule)

	rep := st.health(t, false)
	assert.NotEmpty(t, rep.Version)
	assert.True(t, rep.CouchDB.Reachable, "couchdb reachable: %s", rep.CouchDB.Error)
	assert.Equal(t, st.db, rep.CouchDB.Database)
	assert.Equal(t, map[string]map[string]int{s3feed.KindChanges: {"active": 1}}, rep.Records)
	assert.Empty(t, rep.Orphans)
	assert.Empty(t, rep.Errors)
	assert.False(t, rep.Repair)

	t.Log("an orphan of each kind")
	require.NoError(t, st.system.DeleteRule(ctx, whisk.QName{Namespace: systemNS, Name: alarm.Rule}), "delete the record's poll rule")
	strayTrigger := "whiskfeed-" + randomHex(t, 10) + "-alarm"
	_, err := st.system.PutTrigger(ctx, whisk.QName{Namespace: systemNS, Name: strayTrigger}, whisk.Trigger{}, whisk.CreateOnly)
	require.NoError(t, err)
	source := whisk.QName{Namespace: systemNS, Name: "e2e-stray-source"}
	_, err = st.system.PutTrigger(ctx, source, whisk.Trigger{}, whisk.CreateOnly)
	require.NoError(t, err)
	strayRule := "whiskfeed-" + randomHex(t, 10) + "-poll"
	_, err = st.system.PutRule(ctx, whisk.QName{Namespace: systemNS, Name: strayRule}, source, pollAction, whisk.CreateOnly)
	require.NoError(t, err)

	want := []orphan{
		{"record-without-alarm", guestNS + "/" + trig},
		{"alarm-trigger-without-record", strayTrigger},
		{"rule-without-record", strayRule},
	}
	rep = st.health(t, false)
	assert.ElementsMatch(t, want, orphansOf(rep), "orphans found")
	for _, o := range rep.Orphans {
		assert.False(t, o.Repaired, "orphan %s repaired without repair=true", o.Name)
	}
	_, err = st.system.Trigger(ctx, whisk.QName{Namespace: systemNS, Name: strayTrigger})
	assert.NoError(t, err, "a report without repair changes nothing")

	t.Log("repair=true")
	rep = st.health(t, true)
	assert.True(t, rep.Repair)
	assert.ElementsMatch(t, want, orphansOf(rep), "orphans repaired")
	for _, o := range rep.Orphans {
		assert.True(t, o.Repaired, "orphan %s %s: repaired (error %q)", o.Kind, o.Name, o.Error)
		assert.Empty(t, o.Error)
	}
	rule, err := st.system.Rule(ctx, whisk.QName{Namespace: systemNS, Name: alarm.Rule})
	if assert.NoError(t, err, "the poll rule is recreated") {
		assert.Equal(t, whisk.RuleActive, rule.Status)
		assert.Equal(t, alarm.Trigger, rule.Trigger.Name)
		assert.Equal(t, pollAction.String(), rule.Action.String())
	}
	_, err = st.system.Trigger(ctx, whisk.QName{Namespace: systemNS, Name: strayTrigger})
	assert.True(t, whisk.IsNotFound(err), "stray alarm trigger deleted: got %v", err)
	_, err = st.system.Rule(ctx, whisk.QName{Namespace: systemNS, Name: strayRule})
	assert.True(t, whisk.IsNotFound(err), "stray poll rule deleted: got %v", err)
	assert.Equal(t, alarm, st.record(t, trig).Alarm)

	rep = st.health(t, false)
	assert.Empty(t, rep.Orphans, "orphans after repair")

	t.Log("the repaired alarm polls again")
	st.put(t, bucket, "after-repair.txt", "r")
	assertEvents(t, bucket, st.awaitEvents(t, trig, 1), change{s3feed.StatusAdded, "after-repair.txt"})

	require.NoError(t, st.system.DeleteTrigger(ctx, source))
	require.NoError(t, st.guest.DeleteFeedTrigger(ctx, whisk.QName{Name: trig}))
	st.assertGone(t, trig, alarm)
	assert.Empty(t, st.health(t, false).Records[s3feed.KindChanges], "records after DELETE")
}
