package e2e_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// alarmSchedule reads, through the alarms feed as the provider, the
// schedule of a record's alarm trigger: its cron pattern or minutes.
func (st *stack) alarmSchedule(t *testing.T, alarmTrigger string) (cron string, minutes float64) {
	t.Helper()
	act, err := st.system.ReadFeed(t.Context(), whisk.QName{Namespace: systemNS, Name: alarmTrigger})
	require.NoError(t, err, "READ of alarm trigger %s", alarmTrigger)
	var rr struct {
		Config struct {
			Cron    string  `json:"cron"`
			Minutes float64 `json:"minutes"`
		} `json:"config"`
	}
	require.NoError(t, act.Response.Decode(&rr))
	return rr.Config.Cron, rr.Config.Minutes
}

// testReschedule changes a polling trigger's schedule with UPDATE: the
// alarm is replaced with the new schedule, the snapshot is kept (nothing is
// announced again), and changes keep arriving.
func testReschedule(t *testing.T, art *artifacts) {
	st := newStack(t, art)
	ctx := t.Context()
	bucket := testenv.NewBucket(t, st.s3URL)
	const trig = "rescheduled"
	st.put(t, bucket, "old.txt", "o")
	st.createTrigger(t, trig, st.feedParams(bucket))
	before := st.record(t, trig)
	cron, _ := st.alarmSchedule(t, before.Alarm.Trigger)
	assert.Equal(t, pollCron, cron, "the alarm polls on the trigger's cron")

	t.Log("UPDATE cron: the alarm is replaced, the snapshot kept")
	const slower = "*/2 * * * * *"
	_, err := st.guest.UpdateFeed(ctx, whisk.QName{Name: trig}, map[string]any{"cron": slower})
	require.NoError(t, err)
	after := st.record(t, trig)
	require.NotEmpty(t, after.Alarm.Trigger)
	cron, _ = st.alarmSchedule(t, after.Alarm.Trigger)
	assert.Equal(t, slower, cron, "the alarm follows the new cron")
	assert.Equal(t, slower, st.mustRead(t, trig).Config["cron"])
	st.put(t, bucket, "new.txt", "n")
	evs := st.awaitEvents(t, trig, 1)
	assertEvents(t, bucket, evs, change{s3feed.StatusAdded, "new.txt"})

	t.Log("UPDATE interval: from cron to minutes")
	_, err = st.guest.UpdateFeed(ctx, whisk.QName{Name: trig}, map[string]any{"interval": 1})
	require.NoError(t, err)
	rec := st.record(t, trig)
	cron, minutes := st.alarmSchedule(t, rec.Alarm.Trigger)
	assert.Empty(t, cron, "an interval alarm has no cron")
	assert.EqualValues(t, 1, minutes)
	rr := st.mustRead(t, trig)
	assert.EqualValues(t, 1, rr.Config["interval"])
	assert.NotContains(t, rr.Config, "cron", "interval replaces cron")
	triggers, rules := st.whiskfeedEntities(t)
	assert.Len(t, triggers, 1, "one alarm trigger after two reschedules: %v", triggers)
	assert.Len(t, rules, 1, "one poll rule after two reschedules: %v", rules)
}

func (st *stack) mustRead(t *testing.T, name string) readResult {
	t.Helper()
	rr, _ := st.read(t, name)
	return rr
}
