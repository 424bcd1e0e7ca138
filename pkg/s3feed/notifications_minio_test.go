package s3feed_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// TestNotificationsMinIO runs the hooks pattern against a real MinIO whose
// webhooks reach the real hook action, with state in pouchdb-server.
func TestNotificationsMinIO(t *testing.T) {
	e := newHookEnv(t)
	ours := s3feed.EntryID(direct.ARN())

	t.Run("events have the polling shape", func(t *testing.T) {
		bucket := testenv.NewBucket(t, e.endpoint)
		e.create("shape", e.params(bucket))
		poller, err := e.local.Create(t.Context(), s3feed.Changes(), "guest", "shape-poll", e.params(bucket))
		require.NoError(t, err)

		const key = "日本/a b+c%20.txt"
		etag := put(t, e.s3, bucket, key, "hello")
		e.waitDelivered("direct", bucket, 1)
		got := e.whisk.take("shape")
		require.Len(t, got, 1)
		var added fired
		require.NoError(t, json.Unmarshal(got[0], &added))
		require.NotEmpty(t, added.EventTime)
		assert.JSONEq(t, fmt.Sprintf(`{"bucket":%q,"key":%q,"status":"added",
			"file":{"Key":%q,"ETag":%q,"Size":5,"LastModified":%q},
			"event_id":%q,"source":"notification","event_name":"s3:ObjectCreated:Put","event_time":%q}`,
			bucket, key, key, etag, added.EventTime, s3feed.EventID(bucket, key, etag, s3feed.StatusAdded), added.EventTime), string(got[0]))

		_, err = e.local.Poll(t.Context(), s3feed.Changes(), poller.ID)
		require.NoError(t, err)
		polled := e.takeEvents("shape-poll")
		require.Len(t, polled, 1)
		assert.Equal(t, added.EventID, polled[0].EventID, "an addition has the same event_id pushed and polled")
		assert.Equal(t, added.File["ETag"], polled[0].File["ETag"])
		assert.Equal(t, added.File["Size"], polled[0].File["Size"])

		del(t, e.s3, bucket, key)
		e.waitDelivered("direct", bucket, 2)
		got = e.whisk.take("shape")
		require.Len(t, got, 1)
		var deleted fired
		require.NoError(t, json.Unmarshal(got[0], &deleted))
		assert.JSONEq(t, fmt.Sprintf(`{"bucket":%q,"key":%q,"status":"deleted","file":{"Key":%q},
			"event_id":%q,"source":"notification","event_name":"s3:ObjectRemoved:Delete","event_time":%q}`,
			bucket, key, key, s3feed.EventID(bucket, key, "", s3feed.StatusDeleted), deleted.EventTime), string(got[0]))
		_, err = e.local.Poll(t.Context(), s3feed.Changes(), poller.ID)
		require.NoError(t, err)
		polled = e.takeEvents("shape-poll")
		require.Len(t, polled, 1)
		// MinIO's deletion records carry no ETag; polling names the deleted
		// version by the ETag it last listed.
		assert.Equal(t, s3feed.EventID(bucket, key, etag, s3feed.StatusDeleted), polled[0].EventID)
	})

	t.Run("other entries survive create and delete", func(t *testing.T) {
		bucket := testenv.NewBucket(t, e.endpoint)
		before := []types.QueueConfiguration{
			{Id: aws.String("audit"), QueueArn: aws.String(other.ARN()), Events: []types.Event{"s3:ObjectCreated:*"},
				Filter: &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: []types.FilterRule{{Name: types.FilterRuleNamePrefix, Value: aws.String("logs/")}}}}},
			{Id: aws.String("whiskfeed-another-deployment"), QueueArn: aws.String(other.ARN()), Events: []types.Event{"s3:ObjectRemoved:*"}},
		}
		_, err := e.s3.PutBucketNotificationConfiguration(t.Context(), &s3.PutBucketNotificationConfigurationInput{
			Bucket: aws.String(bucket), NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: before}})
		require.NoError(t, err)
		kept := entries(e.queues(bucket))
		require.Len(t, kept, 2)

		id := e.create("keep", e.params(bucket, "prefix", "data/", "events", "added"))
		assert.ElementsMatch(t, append(kept[:2:2], ours+` arn:minio:sqs::WHISKFEED:webhook s3:ObjectCreated:* prefix="data/" suffix=""`), entries(e.queues(bucket)))

		put(t, e.s3, bucket, "logs/1", "l")
		put(t, e.s3, bucket, "data/1", "d")
		e.waitDelivered("other", bucket, 1)
		e.waitDelivered("direct", bucket, 1)
		assert.Equal(t, []string{"added data/1"}, keysOf(e.takeEvents("keep")))

		require.NoError(t, e.local.Delete(t.Context(), e.src, id))
		assert.ElementsMatch(t, kept, entries(e.queues(bucket)))
	})

	t.Run("triggers of one bucket get their own events", func(t *testing.T) {
		bucket := testenv.NewBucket(t, e.endpoint)
		a := e.create("pa", e.params(bucket, "prefix", "in/a/", "events", "added"))
		b := e.create("pb", e.params(bucket, "prefix", "in/b/"))
		assert.Equal(t, []string{ours + ` arn:minio:sqs::WHISKFEED:webhook s3:ObjectCreated:*,s3:ObjectRemoved:* prefix="in/" suffix=""`}, entries(e.queues(bucket)))

		for _, k := range []string{"in/a/1", "in/b/1", "in/c/1"} {
			put(t, e.s3, bucket, k, k)
		}
		del(t, e.s3, bucket, "in/a/1")
		del(t, e.s3, bucket, "in/b/1")
		e.waitDelivered("direct", bucket, 5)
		assert.Equal(t, []string{"added in/a/1"}, keysOf(e.takeEvents("pa")))
		assert.ElementsMatch(t, []string{"added in/b/1", "deleted in/b/1"}, keysOf(e.takeEvents("pb")))

		require.NoError(t, e.local.Delete(t.Context(), e.src, b))
		assert.Equal(t, []string{ours + ` arn:minio:sqs::WHISKFEED:webhook s3:ObjectCreated:* prefix="in/a/" suffix=""`}, entries(e.queues(bucket)))
		require.NoError(t, e.local.Delete(t.Context(), e.src, a))
		assert.Empty(t, e.queues(bucket))
		assert.Empty(t, e.docsMentioning(t, bucket))

		// The bucket can be registered again.
		again := e.create("pa", e.params(bucket))
		assert.Len(t, e.queues(bucket), 1)
		require.NoError(t, e.local.Delete(t.Context(), e.src, again))
		assert.Empty(t, e.queues(bucket))
	})

	t.Run("concurrent creates and deletes", func(t *testing.T) {
		bucket := testenv.NewBucket(t, e.endpoint)
		const n = 4
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				p := e.params(bucket, "prefix", fmt.Sprintf("p%d/", i))
				if i == 0 {
					p["events"] = "added"
				}
				rec, err := e.local.Create(t.Context(), e.src, "guest", fmt.Sprintf("c%d", i), p)
				errs[i] = err
				if err == nil {
					ids[i] = rec.ID
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, []string{ours + ` arn:minio:sqs::WHISKFEED:webhook s3:ObjectCreated:*,s3:ObjectRemoved:* prefix="p" suffix=""`}, entries(e.queues(bucket)))
		for i := range n {
			put(t, e.s3, bucket, fmt.Sprintf("p%d/x", i), "x")
		}
		e.waitDelivered("direct", bucket, n)
		for i := range n {
			assert.Equal(t, []string{fmt.Sprintf("added p%d/x", i)}, keysOf(e.takeEvents(fmt.Sprintf("c%d", i))), "trigger c%d", i)
		}

		deleteAll := func(ids ...string) {
			var wg sync.WaitGroup
			errs := make([]error, len(ids))
			for i, id := range ids {
				wg.Go(func() { errs[i] = e.local.Delete(t.Context(), e.src, id) })
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
		}
		deleteAll(ids[0], ids[1])
		assert.Equal(t, []string{ours + ` arn:minio:sqs::WHISKFEED:webhook s3:ObjectCreated:*,s3:ObjectRemoved:* prefix="p" suffix=""`}, entries(e.queues(bucket)))
		deleteAll(ids[2], ids[3])
		assert.Empty(t, e.queues(bucket))
		assert.Empty(t, e.docsMentioning(t, bucket), "no record or registration left")
	})

	t.Run("deliveries without the token or malformed are refused", func(t *testing.T) {
		bucket := testenv.NewBucket(t, e.endpoint)
		e.create("guarded", e.params(bucket))
		body := minioBody(e.endpoint, bucket, "k.txt", "s3:ObjectCreated:Put", "0123", time.Now())
		tests := []struct {
			name, auth string
			body       []byte
			status     int
		}{
			{"no token", "", body, http.StatusUnauthorized},
			{"wrong token", "Bearer not-" + hookToken, body, http.StatusUnauthorized},
			{"token as basic", "Basic " + hookToken, body, http.StatusUnauthorized},
			{"not JSON", "Bearer " + hookToken, []byte("Key=b/k"), http.StatusBadRequest},
			{"no records", "Bearer " + hookToken, []byte(`{"EventName":"s3:ObjectCreated:Put","Key":"b/k"}`), http.StatusBadRequest},
			{"too large", "Bearer " + hookToken, append(append([]byte(`{"Records":[],"pad":"`), strings.Repeat("x", feed.MaxDeliveryBytes)...), `"}`...), http.StatusRequestEntityTooLarge},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, out := e.post(tc.auth, "", tc.body)
				assert.Equal(t, tc.status, status, "%s", out)
				assert.Empty(t, e.whisk.take("guarded"), "nothing fired")
			})
		}
		status, out := e.post("Bearer "+hookToken, "", body)
		require.Equal(t, http.StatusOK, status, "%s", out)
		assert.Equal(t, []string{"added k.txt"}, keysOf(e.takeEvents("guarded")), "the same body with the token fires")
	})

	t.Run("a paused trigger gets nothing", func(t *testing.T) {
		bucket := testenv.NewBucket(t, e.endpoint)
		paused := e.create("paused", e.params(bucket))
		e.create("running", e.params(bucket))
		_, err := e.local.Store.Update(t.Context(), paused, func(r *feed.Record) error {
			r.Paused = true
			r.Disable(feed.ReasonUser, 0, "paused by the trigger's owner")
			return nil
		})
		require.NoError(t, err)
		put(t, e.s3, bucket, "one", "1")
		e.waitDelivered("direct", bucket, 1)
		assert.Equal(t, []string{"added one"}, keysOf(e.takeEvents("running")))
		assert.Empty(t, e.takeEvents("paused"))

		_, err = e.local.Store.Update(t.Context(), paused, func(r *feed.Record) error {
			r.Paused = false
			r.Enable()
			return nil
		})
		require.NoError(t, err)
		put(t, e.s3, bucket, "two", "2")
		e.waitDelivered("direct", bucket, 2)
		assert.Equal(t, []string{"added two"}, keysOf(e.takeEvents("paused")))
	})

	t.Run("a queued store delivers again after failed fires", func(t *testing.T) {
		bucket := testenv.NewBucket(t, e.endpoint)
		viaQueue := *e.local
		viaQueue.Destination.ARN = queued.ARN()
		_, err := viaQueue.Create(t.Context(), e.src, "guest", "queued", e.params(bucket))
		require.NoError(t, err)
		assert.Equal(t, []string{s3feed.EntryID(queued.ARN()) + ` arn:minio:sqs::QUEUED:webhook s3:ObjectCreated:*,s3:ObjectRemoved:* prefix="" suffix=""`}, entries(e.queues(bucket)))

		e.whisk.setFailing(true)
		etag := put(t, e.s3, bucket, "late.txt", "late")
		e.waitDelivered("queued", bucket, 1)
		e.whisk.setFailing(false)
		e.waitFor("a delivery answered 200", func() bool {
			s := e.statuses["queued "+bucket]
			return len(s) > 0 && s[len(s)-1] == http.StatusOK
		})
		statuses := e.delivered("queued", bucket)
		assert.Equal(t, http.StatusServiceUnavailable, statuses[0], "the failed fire answered 503: %v", statuses)
		events := e.takeEvents("queued")
		require.Len(t, events, 1, "delivered once after recovery")
		assert.Equal(t, s3feed.EventID(bucket, "late.txt", etag, s3feed.StatusAdded), events[0].EventID)
	})

	t.Run("reconcile fires what the store dropped, once", func(t *testing.T) {
		bucket := testenv.NewBucket(t, e.endpoint)
		id := e.create("rec", e.params(bucket, "reconcile_interval", 1))
		plain := e.create("plain", e.params(bucket))
		res, err := e.local.Poll(t.Context(), e.src, plain)
		require.NoError(t, err)
		assert.Equal(t, "not polled", res.Skipped)

		put(t, e.s3, bucket, "seen.txt", "seen")
		e.waitDelivered("direct", bucket, 1)
		assert.Equal(t, []string{"added seen.txt"}, keysOf(e.takeEvents("rec")))
		assert.Equal(t, []string{"added seen.txt"}, keysOf(e.takeEvents("plain")))

		e.setDrop("direct", true)
		missed := put(t, e.s3, bucket, "missed.txt", "missed")
		e.waitFor("a dropped delivery", func() bool { return e.dropped["direct "+bucket] >= 1 })
		e.setDrop("direct", false)
		head, err := e.s3.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("missed.txt")})
		require.NoError(t, err)

		res, err = e.local.Poll(t.Context(), e.src, id)
		require.NoError(t, err)
		require.Empty(t, res.Error)
		events := e.takeEvents("rec")
		require.Len(t, events, 1, "only what the store dropped: %v", keysOf(events))
		assert.Equal(t, fired{Bucket: bucket, Key: "missed.txt", Status: "added", EventID: s3feed.EventID(bucket, "missed.txt", missed, s3feed.StatusAdded), Source: "poll"},
			fired{Bucket: events[0].Bucket, Key: events[0].Key, Status: events[0].Status, EventID: events[0].EventID, Source: events[0].Source})
		assert.EqualValues(t, 1, e.record(id).Stats.EventsDeduped)

		res, err = e.local.Poll(t.Context(), e.src, id)
		require.NoError(t, err)
		assert.Zero(t, res.Events)

		// The store replays the dropped event late (as a queue would): the
		// poll fired it already.
		late := minioBody(e.endpoint, bucket, "missed.txt", "s3:ObjectCreated:Put", missed, aws.ToTime(head.LastModified))
		status, out := e.post("Bearer "+hookToken, "", late)
		require.Equal(t, http.StatusOK, status, "%s", out)
		assert.Empty(t, e.takeEvents("rec"))
		assert.EqualValues(t, 2, e.record(id).Stats.EventsDeduped)
		assert.Equal(t, []string{"added missed.txt"}, keysOf(e.takeEvents("plain")), "a trigger without reconcile gets every delivery")

		// A deletion dropped is fired by the next poll, with polling's
		// event_id.
		seenETag := listAll(t, e.s3, bucket)["seen.txt"]
		e.setDrop("direct", true)
		del(t, e.s3, bucket, "seen.txt")
		e.waitFor("a dropped delivery", func() bool { return e.dropped["direct "+bucket] >= 2 })
		e.setDrop("direct", false)
		res, err = e.local.Poll(t.Context(), e.src, id)
		require.NoError(t, err)
		events = e.takeEvents("rec")
		require.Len(t, events, 1)
		assert.Equal(t, "deleted seen.txt", events[0].Status+" "+events[0].Key)
		assert.Equal(t, s3feed.EventID(bucket, "seen.txt", seenETag, s3feed.StatusDeleted), events[0].EventID)

		// Pushed and polled: fired once, by the push.
		put(t, e.s3, bucket, "both.txt", "both")
		del(t, e.s3, bucket, "missed.txt")
		e.waitDelivered("direct", bucket, 3)
		assert.ElementsMatch(t, []string{"added both.txt", "deleted missed.txt"}, keysOf(e.takeEvents("rec")))
		assert.ElementsMatch(t, []string{"added both.txt", "deleted missed.txt"}, keysOf(e.takeEvents("plain")))
		res, err = e.local.Poll(t.Context(), e.src, id)
		require.NoError(t, err)
		assert.Zero(t, res.Events)
		assert.Empty(t, e.takeEvents("rec"))
		assert.EqualValues(t, 4, e.record(id).Stats.EventsDeduped)

		// A deletion made after the poll that fired the previous one is
		// new.
		newer := minioBody(e.endpoint, bucket, "seen.txt", "s3:ObjectRemoved:Delete", "", time.Now().Add(time.Minute))
		status, out = e.post("Bearer "+hookToken, "", newer)
		require.Equal(t, http.StatusOK, status, "%s", out)
		assert.Equal(t, []string{"deleted seen.txt"}, keysOf(e.takeEvents("rec")))
		assert.EqualValues(t, 4, e.record(id).Stats.EventsDeduped)
	})

	t.Run("bad parameters and credentials leave nothing", func(t *testing.T) {
		tests := []struct {
			name   string
			params func(bucket string) map[string]any
			dest   string
			says   string
			is400  bool
		}{
			{"events modified", func(b string) map[string]any { return e.params(b, "events", "modified") }, direct.ARN(), `"events"`, true},
			{"reconcile too long", func(b string) map[string]any { return e.params(b, "reconcile_interval", 2000) }, direct.ARN(), `"reconcile_interval"`, true},
			{"reconcile not a number", func(b string) map[string]any { return e.params(b, "reconcile_interval", "soon") }, direct.ARN(), `"reconcile_interval"`, true},
			{"no bucket", func(b string) map[string]any { p := e.params(b); delete(p, "bucket"); return p }, direct.ARN(), `"bucket"`, true},
			{"wrong secret", func(b string) map[string]any { return e.params(b, "s3_secret_access_key", "wrong-secret") }, direct.ARN(), "check s3_secret_access_key", true},
			{"unknown key", func(b string) map[string]any { return e.params(b, "s3_access_key_id", "nobody") }, direct.ARN(), "does not know the given s3_access_key_id", true},
			{"missing bucket", func(b string) map[string]any { return e.params(b + "-missing") }, direct.ARN(), "does not exist", true},
			{"destination unknown to the store", func(b string) map[string]any { return e.params(b) }, "arn:minio:sqs::NOPE:webhook", `destination arn:minio:sqs::NOPE:webhook (parameter "notification_arn")`, false},
			{"no destination", func(b string) map[string]any { return e.params(b) }, "", "notification_arn", false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				bucket := testenv.NewBucket(t, e.endpoint)
				l := *e.local
				l.Destination.ARN = tc.dest
				_, err := l.Create(t.Context(), e.src, "guest", "bad", tc.params(bucket))
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.says)
				assert.NotContains(t, err.Error(), testenv.MinIOSecretKey)
				if tc.is400 {
					// The lifecycle answers 400 to these (Local returns
					// them as they are).
					require.ErrorIs(t, err, feed.ErrInvalidParams)
				}
				var be *s3feed.BucketError
				if errors.As(err, &be) && tc.is400 {
					assert.Equal(t, http.StatusBadRequest, runtime.HTTPStatus(err), "refused by the store at validation")
				}
				_, err = e.local.Store.Get(t.Context(), feed.RecordID("guest", "bad"))
				assert.True(t, errors.Is(err, feed.ErrNotFound), "no record: %v", err)
				assert.Empty(t, e.docsMentioning(t, bucket))
				assert.Empty(t, e.queues(bucket))
			})
		}
	})
}

// minioBody is a delivery as MinIO's webhook target sends it.
func minioBody(endpoint, bucket, key, event, etag string, at time.Time) []byte {
	rec := map[string]any{
		"eventVersion": "2.0", "eventSource": "minio:s3", "awsRegion": "", "eventName": event,
		"eventTime":        at.UTC().Format("2006-01-02T15:04:05.000Z"),
		"responseElements": map[string]string{"x-minio-origin-endpoint": endpoint},
		"s3": map[string]any{
			"s3SchemaVersion": "1.0", "configurationId": "Config",
			"bucket": map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
			"object": map[string]any{"key": url.QueryEscape(key), "size": 4, "eTag": etag, "sequencer": "1"},
		},
	}
	b, _ := json.Marshal(map[string]any{"EventName": event, "Key": bucket + "/" + key, "Records": []any{rec}})
	return b
}

func (e *hookEnv) record(id string) *feed.Record {
	e.t.Helper()
	rec, err := e.local.Store.Get(e.t.Context(), id)
	require.NoError(e.t, err)
	return rec
}

// docsMentioning returns the ids of the database's documents whose JSON
// holds s (a bucket name).
func (e *hookEnv) docsMentioning(t *testing.T, s string) []string {
	t.Helper()
	var all struct {
		Rows []struct {
			ID  string          `json:"id"`
			Doc json.RawMessage `json:"doc"`
		} `json:"rows"`
	}
	h := &harness{t: t}
	h.getJSON(strings.TrimRight(e.couch, "/")+"/"+e.db+"/_all_docs?include_docs=true", &all)
	var ids []string
	for _, r := range all.Rows {
		if strings.Contains(string(r.Doc), s) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}
