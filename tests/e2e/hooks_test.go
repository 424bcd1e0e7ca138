package e2e_test

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// testHooksFeed drives one notifications trigger through its life the way
// wsk does: CREATE adds whiskfeed's entry to the bucket's notification
// configuration; MinIO's notifications of writes and deletions reach the
// recording action through hook, in the event shape of polling plus the
// store's event name; READ and UPDATE work; DELETE removes the entry and
// every document.
func testHooksFeed(t *testing.T, art *artifacts) {
	hs := newHookStack(t, art)
	ctx := t.Context()
	bucket := testenv.NewBucket(t, hs.s3URL)
	const trig = "hooked"
	hs.put(t, bucket, "old.txt", "before")
	require.Empty(t, hs.queues(t, bucket))

	act := hs.createHookTrigger(t, trig, hs.params(bucket))
	assert.NotContains(t, string(act.Response.Result), testenv.MinIOSecretKey, "CREATE's answer holds the S3 secret")
	assert.NotContains(t, string(act.Response.Result), guestKey, "CREATE's answer holds the authKey")
	assert.Equal(t, []string{hs.ourEntry(bothEvents, "", "")}, hs.queues(t, bucket), "CREATE registers whiskfeed's entry")
	assert.Equal(t, feed.Alarm{}, hs.record(t, trig).Alarm, "no reconcile_interval: no alarm")

	t.Log("writes and deletions arrive as notification events")
	const spaced = "dir/a b+c%20ü.txt" // keys arrive URL-encoded
	newETag := hs.putETag(t, bucket, "new.txt", "new")
	spacedETag := hs.putETag(t, bucket, spaced, "spaced")
	hs.del(t, bucket, "old.txt")
	evs := hs.awaitNotified(t, trig, 3)
	require.ElementsMatch(t, []string{"added new.txt", "added " + spaced, "deleted old.txt"}, notifiedKeys(evs))
	for _, e := range evs {
		switch e.Key {
		case "new.txt":
			assertNotified(t, e, bucket, s3feed.StatusAdded, "new.txt", newETag)
			if assert.NotNil(t, e.File.Size) {
				assert.EqualValues(t, len("new"), *e.File.Size, "file.Size of new.txt")
			}
		case spaced:
			assertNotified(t, e, bucket, s3feed.StatusAdded, spaced, spacedETag)
		case "old.txt":
			assertNotified(t, e, bucket, s3feed.StatusDeleted, "old.txt", "")
		}
	}
	answers := hs.awaitDeliveries(t, bucket, 3)
	for _, a := range answers {
		assert.Equal(t, feed.DeliveryResult{Target: hs.s3URL + "/" + bucket, Events: 1, Triggers: 1, Fired: 1}, a.DeliveryResult, "hook's answer")
	}

	t.Log("READ: configuration without secrets, status and statistics")
	rr, raw := hs.read(t, trig)
	assert.NotContains(t, raw, testenv.MinIOSecretKey, "READ shows the S3 secret")
	assert.NotContains(t, raw, guestKey, "READ shows the authKey")
	assert.NotContains(t, raw, hs.token, "READ shows the webhook token")
	assert.Equal(t, "/"+guestNS+"/"+trig, rr.Trigger)
	assert.Equal(t, s3feed.KindNotifications, rr.Kind)
	assert.Equal(t, bucket, rr.Config["bucket"])
	assert.Equal(t, hs.s3URL, rr.Config["s3_endpoint"])
	assert.NotContains(t, rr.Config, "s3_secret_access_key")
	assert.True(t, rr.Status.Active, "status.active")
	assert.EqualValues(t, 3, rr.Stats.EventsFired)
	assert.Zero(t, rr.Stats.Errors)

	t.Log("UPDATE events=added prefix=dir/: the entry follows, deletions and other keys are not announced")
	_, err := hs.guest.UpdateFeed(ctx, whisk.QName{Name: trig}, map[string]any{"events": "added", "prefix": "dir/"})
	require.NoError(t, err, "UPDATE")
	assert.Equal(t, []string{hs.ourEntry(addedEvents, "dir/", "")}, hs.queues(t, bucket), "UPDATE rewrites whiskfeed's entry")
	hs.put(t, bucket, "top.txt", "t")
	hs.del(t, bucket, spaced)
	xETag := hs.putETag(t, bucket, "dir/x.txt", "x")
	evs = hs.awaitNotified(t, trig, 4)
	assertNotified(t, evs[3], bucket, s3feed.StatusAdded, "dir/x.txt", xETag)

	t.Log("DELETE: the entry, the trigger, its record and every document are gone")
	require.NoError(t, hs.guest.DeleteFeedTrigger(ctx, whisk.QName{Name: trig}))
	assert.Empty(t, hs.queues(t, bucket), "whiskfeed's entry after DELETE")
	hs.assertGone(t, trig, feed.Alarm{})
	assert.Empty(t, hs.docIDs(t), "documents left in the provider's database")
}

// testHooksKeepOtherEntries: the notification entries a bucket already had
// (someone else's, to another target) survive the CREATE and DELETE of
// whiskfeed triggers, and keep working.
func testHooksKeepOtherEntries(t *testing.T, art *artifacts) {
	hs := newHookStack(t, art)
	ctx := t.Context()
	bucket := testenv.NewBucket(t, hs.s3URL)
	audit := hs.putAudit(t, bucket)

	hs.createHookTrigger(t, "keep-a", hs.params(bucket, "prefix", "data/"))
	assert.ElementsMatch(t, append([]string{hs.ourEntry(bothEvents, "data/", "")}, audit...), hs.queues(t, bucket), "after the first CREATE")
	hs.createHookTrigger(t, "keep-b", hs.params(bucket, "prefix", "data/b/", "events", "added"))
	assert.ElementsMatch(t, append([]string{hs.ourEntry(bothEvents, "data/", "")}, audit...), hs.queues(t, bucket), "after the second CREATE")

	t.Log("both targets get what they asked for")
	hs.put(t, bucket, "logs/1.txt", "l")
	dataETag := hs.putETag(t, bucket, "data/b/1.tmp", "d")
	hs.del(t, bucket, "data/b/1.tmp")
	hs.other.await(t, bucket+"/logs/1.txt")
	hs.other.await(t, bucket+"/data/b/1.tmp")
	evs := hs.awaitNotified(t, "keep-a", 2)
	assert.ElementsMatch(t, []string{"added data/b/1.tmp", "deleted data/b/1.tmp"}, notifiedKeys(evs))
	evs = hs.awaitNotified(t, "keep-b", 1)
	assertNotified(t, evs[0], bucket, s3feed.StatusAdded, "data/b/1.tmp", dataETag)

	t.Log("DELETE of one trigger narrows whiskfeed's entry, DELETE of the last removes it")
	require.NoError(t, hs.guest.DeleteFeedTrigger(ctx, whisk.QName{Name: "keep-a"}))
	assert.ElementsMatch(t, append([]string{hs.ourEntry(addedEvents, "data/b/", "")}, audit...), hs.queues(t, bucket), "after the first DELETE")
	require.NoError(t, hs.guest.DeleteFeedTrigger(ctx, whisk.QName{Name: "keep-b"}))
	assert.Equal(t, audit, hs.queues(t, bucket), "after the last DELETE: only the audit entries, unchanged")
	hs.put(t, bucket, "logs/2.txt", "l")
	hs.other.await(t, bucket+"/logs/2.txt")
	hs.assertGone(t, "keep-a", feed.Alarm{})
	hs.assertGone(t, "keep-b", feed.Alarm{})
	assert.Empty(t, hs.docIDs(t), "documents left in the provider's database")
}

// testHooksPrefixes: two triggers with different prefixes on one bucket
// each get their events only.
func testHooksPrefixes(t *testing.T, art *artifacts) {
	hs := newHookStack(t, art)
	ctx := t.Context()
	bucket := testenv.NewBucket(t, hs.s3URL)
	hs.createHookTrigger(t, "in-a", hs.params(bucket, "prefix", "in/a/", "events", "added"))
	hs.createHookTrigger(t, "in-b", hs.params(bucket, "prefix", "in/b/"))
	assert.Equal(t, []string{hs.ourEntry(bothEvents, "in/", "")}, hs.queues(t, bucket), "one entry for both: the shared prefix, every event type")

	for _, k := range []string{"in/a/1", "in/b/1", "in/c/1"} {
		hs.put(t, bucket, k, k)
	}
	hs.del(t, bucket, "in/a/1")
	hs.del(t, bucket, "in/b/1")
	hs.put(t, bucket, "out/1", "o") // outside the entry: MinIO sends nothing
	// Every notification of the entry has been handled: what each trigger
	// was fired is final.
	fired := 0
	for _, a := range hs.awaitDeliveries(t, bucket, 5) {
		assert.Equal(t, 1, a.Events, "events of a delivery: %+v", a)
		assert.Equal(t, 2, a.Triggers, "triggers of the bucket: %+v", a)
		fired += a.Fired
	}
	assert.Equal(t, 3, fired, "triggers fired, over the deliveries")
	assert.Equal(t, []string{"added in/a/1"}, notifiedKeys(hs.awaitNotified(t, "in-a", 1)))
	assert.ElementsMatch(t, []string{"added in/b/1", "deleted in/b/1"}, notifiedKeys(hs.awaitNotified(t, "in-b", 2)))

	require.NoError(t, hs.guest.DeleteFeedTrigger(ctx, whisk.QName{Name: "in-b"}))
	assert.Equal(t, []string{hs.ourEntry(addedEvents, "in/a/", "")}, hs.queues(t, bucket), "the entry of the trigger left")
	require.NoError(t, hs.guest.DeleteFeedTrigger(ctx, whisk.QName{Name: "in-a"}))
	assert.Empty(t, hs.queues(t, bucket))
	assert.Empty(t, hs.docIDs(t), "documents left in the provider's database")
}

// testHooksConcurrentCreates: CREATEs racing on one bucket all register;
// DELETEs racing remove whiskfeed's entry and keep everyone else's.
func testHooksConcurrentCreates(t *testing.T, art *artifacts) {
	hs := newHookStack(t, art)
	ctx := t.Context()
	bucket := testenv.NewBucket(t, hs.s3URL)
	audit := hs.putAudit(t, bucket)
	const n = 4
	name := func(i int) string { return fmt.Sprintf("racer-%d", i) }

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = hs.guest.CreateFeedTrigger(ctx, whisk.QName{Name: name(i)}, notificationsFeed, hs.params(bucket, "prefix", fmt.Sprintf("p%d/", i)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "CREATE %s", name(i))
		hs.bindRecorder(t, name(i), recorderName(name(i)))
	}
	assert.ElementsMatch(t, append([]string{hs.ourEntry(bothEvents, "p", "")}, audit...), hs.queues(t, bucket), "one entry covering every racer, and the audit entries")

	etags := make([]string, n)
	for i := range n {
		etags[i] = hs.putETag(t, bucket, fmt.Sprintf("p%d/x", i), fmt.Sprint(i))
	}
	for i := range n {
		evs := hs.awaitNotified(t, name(i), 1)
		assertNotified(t, evs[0], bucket, s3feed.StatusAdded, fmt.Sprintf("p%d/x", i), etags[i])
	}

	for i := range n {
		wg.Go(func() { errs[i] = hs.guest.DeleteFeedTrigger(ctx, whisk.QName{Name: name(i)}) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "DELETE %s", name(i))
	}
	assert.Equal(t, audit, hs.queues(t, bucket), "after the DELETEs: only the audit entries, unchanged")
	for i := range n {
		hs.assertGone(t, name(i), feed.Alarm{})
	}
	assert.Empty(t, hs.docIDs(t), "documents left in the provider's database")
}

// testHooksWrongToken: a delivery without the webhook token, or with
// another, is refused 401 and fires nothing; the same body with the token
// fires.
func testHooksWrongToken(t *testing.T, art *artifacts) {
	hs := newHookStack(t, art)
	bucket := testenv.NewBucket(t, hs.s3URL)
	const trig = "guarded"
	hs.createHookTrigger(t, trig, hs.params(bucket))
	body := minioDelivery(hs.s3URL, bucket, "forged.txt", "s3:ObjectCreated:Put", "0f343b0931126a20f133d67c2b018a3b", time.Now())

	tests := []struct{ name, auth string }{
		{"no Authorization", ""},
		{"another token", "Bearer " + randomHex(t, 24)},
		{"a prefix of the token", "Bearer " + hs.token[:len(hs.token)-1]},
		{"the token and more", "Bearer " + hs.token + "0"},
		{"the token in upper case", "Bearer " + strings.ToUpper(hs.token)},
		{"the token without scheme", hs.token},
		{"the token as Basic", "Basic " + hs.token},
	}
	for _, tc := range tests {
		status, out := hs.postHook(t, tc.auth, body)
		assert.Equal(t, http.StatusUnauthorized, status, "%s: %s", tc.name, out)
		assert.NotContains(t, out, hs.token, "%s: the answer shows the token", tc.name)
	}
	rec := hs.record(t, trig)
	assert.Zero(t, rec.Stats.EventsFired+rec.Stats.EventsUnseen, "fires after refused deliveries")
	assert.Empty(t, hs.notified(t, recorderName(trig)), "events after refused deliveries")

	status, out := hs.postHook(t, "Bearer "+hs.token, body)
	require.Equal(t, http.StatusOK, status, "the same delivery with the token: %s", out)
	evs := hs.awaitNotified(t, trig, 1)
	assert.Equal(t, "forged.txt", evs[0].Key)
}

// testHooksBadParameters: a CREATE with bad parameters or credentials fails
// with a message naming what is wrong, and leaves nothing behind: the
// bucket's notification configuration is unchanged, and the feed keeps no
// record, registration or alarm.
func testHooksBadParameters(t *testing.T, art *artifacts) {
	hs := newHookStack(t, art)
	bucket := testenv.NewBucket(t, hs.s3URL)
	audit := hs.putAudit(t, bucket)
	tests := []struct {
		name    string
		change  map[string]any // nil value: leave the parameter out
		mention string         // the message names it
	}{
		{"missing bucket", map[string]any{"bucket": nil}, `"bucket"`},
		{"event modified", map[string]any{"events": "added,modified"}, `"events"`},
		{"reconcile too long", map[string]any{"reconcile_interval": 1441}, `"reconcile_interval"`},
		{"reconcile not a number", map[string]any{"reconcile_interval": "soon"}, `"reconcile_interval"`},
		{"prefix too long", map[string]any{"prefix": strings.Repeat("p", 1025)}, `"prefix"`},
		{"missing bucket on the store", map[string]any{"bucket": "no-such-bucket-" + randomHex(t, 4)}, "does not exist"},
		{"unknown access key", map[string]any{"s3_access_key_id": "nobody"}, "s3_access_key_id"},
		{"wrong secret key", map[string]any{"s3_secret_access_key": "not-the-secret"}, "s3_secret_access_key"},
		{"wrong secret key with reconcile", map[string]any{"s3_secret_access_key": "not-the-secret", "reconcile_interval": 1}, "s3_secret_access_key"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			params := hs.params(bucket)
			for k, v := range tc.change {
				delete(params, k)
				if v != nil {
					params[k] = v
				}
			}
			name := "bad-" + string(rune('a'+i))
			_, err := hs.guest.CreateFeedTrigger(ctx, whisk.QName{Name: name}, notificationsFeed, maps.Clone(params))
			require.Error(t, err, "CREATE must fail")
			msg := feedError(t, err)
			assert.Contains(t, msg, tc.mention, "the message names the culprit")
			if s, ok := params["s3_secret_access_key"].(string); ok {
				assert.NotContains(t, msg, s, "the message shows the secret")
			}
			assert.NotContains(t, msg, guestKey, "the message shows the authKey")
			assert.NotContains(t, msg, hs.token, "the message shows the webhook token")
			hs.assertGone(t, name, feed.Alarm{})
			assert.Equal(t, audit, hs.queues(t, bucket), "the bucket's notification configuration")
		})
	}
	triggers, rules := hs.whiskfeedEntities(t)
	assert.Empty(t, triggers, "alarm triggers left in whisk.system")
	assert.Empty(t, rules, "reconcile rules left in whisk.system")
	assert.Empty(t, hs.docIDs(t), "documents left in the provider's database")
}
