package s3feed_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
)

// awsRecord is one record of an AWS S3 event, as SNS or a store in the AWS
// format sends it.
func awsRecord(bucket, key, event, etag string, size int64) map[string]any {
	return map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
		"eventTime": "2026-05-04T03:02:01.123Z", "eventName": event,
		"s3": map[string]any{"bucket": map[string]any{"name": bucket},
			"object": map[string]any{"key": key, "size": size, "eTag": etag, "sequencer": "0055AED6DCD90281E5"}},
	}
}

func body(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestNotificationsReceive(t *testing.T) {
	at := time.Date(2026, 5, 4, 3, 2, 1, 123e6, time.UTC)
	size4 := int64(4)
	minio := minioBody("http://127.0.0.1:9000", "b", "日本/a b+c%20.txt", "s3:ObjectCreated:Put", "\"abc\"", at)
	tests := []struct {
		name   string
		query  string
		body   []byte
		target string
		events []s3feed.NotificationEvent
		bad    string // part of the error, "" for none
	}{
		{name: "minio put", body: minio, target: "http://127.0.0.1:9000/b", events: []s3feed.NotificationEvent{{
			Bucket: "b", Key: "日本/a b+c%20.txt", Status: s3feed.StatusAdded,
			File:    s3feed.NotifiedFile{Key: "日本/a b+c%20.txt", ETag: "abc", Size: &size4, LastModified: &at},
			EventID: s3feed.EventID("b", "日本/a b+c%20.txt", "abc", s3feed.StatusAdded), Source: "notification",
			EventName: "s3:ObjectCreated:Put", EventTime: at}}},
		{name: "minio delete", body: minioBody("http://127.0.0.1:9000/", "b", "x y", "s3:ObjectRemoved:Delete", "", at), target: "http://127.0.0.1:9000/b",
			events: []s3feed.NotificationEvent{{Bucket: "b", Key: "x y", Status: s3feed.StatusDeleted, File: s3feed.NotifiedFile{Key: "x y"},
				EventID: s3feed.EventID("b", "x y", "", s3feed.StatusDeleted), Source: "notification", EventName: "s3:ObjectRemoved:Delete", EventTime: at}}},
		{name: "endpoint from the webhook URL", query: "endpoint=" + "http%3A%2F%2Fminio.internal%3A9000", body: minio, target: "http://minio.internal:9000/b"},
		{name: "aws records", body: body(t, map[string]any{"Records": []any{
			awsRecord("b", "a+b%2Bc", "ObjectCreated:CompleteMultipartUpload", "\"e-2\"", 7),
			awsRecord("b", "gone", "ObjectRemoved:DeleteMarkerCreated", "", 0)}}), target: "s3://b"},
		{name: "delete with an etag", body: body(t, map[string]any{"Records": []any{awsRecord("b", "k", "ObjectRemoved:Delete", "e1", 0)}}), target: "s3://b",
			events: []s3feed.NotificationEvent{{Bucket: "b", Key: "k", Status: s3feed.StatusDeleted, File: s3feed.NotifiedFile{Key: "k", ETag: "e1"},
				EventID: s3feed.EventID("b", "k", "e1", s3feed.StatusDeleted), Source: "notification", EventName: "ObjectRemoved:Delete", EventTime: at}}},
		{name: "content unchanged", body: body(t, map[string]any{"Records": []any{
			awsRecord("b", "k", "s3:ObjectCreated:PutTagging", "e", 1), awsRecord("b", "k", "s3:ObjectRemoved:NoOP", "", 0),
			awsRecord("b", "k", "s3:ObjectAccessed:Get", "e", 1)}}), target: "s3://b", events: []s3feed.NotificationEvent{}},
		{name: "test event", body: []byte(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-05-04T03:02:01.123Z","Bucket":"b"}`)},
		{name: "not json", body: []byte(`Records`), bad: "expected a JSON object"},
		{name: "no records", body: []byte(`{"Records":[]}`), bad: "no Records"},
		{name: "bad key encoding", body: body(t, map[string]any{"Records": []any{awsRecord("b", "100%", "ObjectCreated:Put", "e", 1)}}), bad: "not URL-encoded"},
		{name: "two buckets", body: body(t, map[string]any{"Records": []any{awsRecord("b", "k", "ObjectCreated:Put", "e", 1), awsRecord("c", "k", "ObjectCreated:Put", "e", 1)}}), bad: "records of s3://b and s3://c"},
		{name: "unknown store", body: body(t, map[string]any{"Records": []any{map[string]any{"eventName": "ObjectCreated:Put", "eventSource": "ceph:s3",
			"s3": map[string]any{"bucket": map[string]any{"name": "b"}, "object": map[string]any{"key": "k"}}}}}), bad: "add ?endpoint=<s3_endpoint>"},
		{name: "bad endpoint", query: "endpoint=ftp%3A%2F%2Fx", body: minio, bad: `query parameter "endpoint"`},
		{name: "bad time", body: body(t, map[string]any{"Records": []any{map[string]any{"eventName": "ObjectCreated:Put", "eventSource": "aws:s3", "eventTime": "yesterday",
			"s3": map[string]any{"bucket": map[string]any{"name": "b"}, "object": map[string]any{"key": "k"}}}}}), bad: "eventTime"},
	}
	src := s3feed.Notifications()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target, events, err := src.Receive(t.Context(), &runtime.WebRequest{Method: "POST", Query: tc.query, Body: tc.body})
			if tc.bad != "" {
				require.ErrorIs(t, err, feed.ErrInvalidParams)
				assert.Contains(t, err.Error(), tc.bad)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.target, target)
			if tc.events == nil {
				return
			}
			got := []s3feed.NotificationEvent{}
			for _, e := range events {
				ev := e.Data.(s3feed.NotificationEvent)
				assert.Equal(t, ev.EventID, e.ID)
				got = append(got, ev)
			}
			assert.Equal(t, tc.events, got)
		})
	}

	t.Run("aws keys and statuses", func(t *testing.T) {
		_, events, err := src.Receive(t.Context(), &runtime.WebRequest{Body: tests[3].body})
		require.NoError(t, err)
		require.Len(t, events, 2)
		added, deleted := events[0].Data.(s3feed.NotificationEvent), events[1].Data.(s3feed.NotificationEvent)
		assert.Equal(t, []string{"a b+c", "added", "e-2"}, []string{added.Key, string(added.Status), added.File.ETag})
		assert.Equal(t, []string{"gone", "deleted"}, []string{deleted.Key, string(deleted.Status)})
		assert.Nil(t, deleted.File.Size)
	})
}

func notificationTrigger(t *testing.T, params map[string]any) *feed.Trigger {
	t.Helper()
	p := feed.NewParams(params)
	settings, err := s3feed.Notifications().Configure(p)
	require.NoError(t, err)
	require.NoError(t, p.Err())
	tr, err := feed.NewTrigger("guest", "t", s3feed.KindNotifications, settings, nil)
	require.NoError(t, err)
	return tr
}

func TestNotificationsConfigure(t *testing.T) {
	base := map[string]any{"bucket": "bkt", "s3_endpoint": "http://127.0.0.1:9000/", "s3_access_key_id": "k", "s3_secret_access_key": "s"}
	with := func(k string, v any) map[string]any {
		p := map[string]any{}
		for a, b := range base {
			p[a] = b
		}
		p[k] = v
		return p
	}
	t.Run("defaults", func(t *testing.T) {
		var s s3feed.NotificationsSettings
		require.NoError(t, notificationTrigger(t, base).Settings(&s))
		assert.Equal(t, []string{"added", "deleted"}, s.Events)
		assert.Zero(t, s.ReconcileInterval)
		assert.Equal(t, "http://127.0.0.1:9000", s.Endpoint)
		_, polled := s3feed.Notifications().PollSchedule(notificationTrigger(t, base))
		assert.False(t, polled)
		assert.Equal(t, "http://127.0.0.1:9000/bkt", s3feed.Notifications().Target(notificationTrigger(t, base)))
	})
	t.Run("reconcile", func(t *testing.T) {
		s, polled := s3feed.Notifications().PollSchedule(notificationTrigger(t, with("reconcile_interval", 30)))
		assert.True(t, polled)
		assert.Equal(t, feed.Schedule{Interval: 30}, s)
	})
	tests := []struct {
		name, param string
		value       any
	}{
		{"modified is no notification", "events", "added,modified"},
		{"negative reconcile", "reconcile_interval", -1},
		{"reconcile over a day", "reconcile_interval", 1441},
		{"reconcile in words", "reconcile_interval", "hourly"},
		{"long prefix", "prefix", string(make([]byte, 1025))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := feed.NewParams(with(tc.param, tc.value))
			_, err := s3feed.Notifications().Configure(p)
			require.NoError(t, err)
			err = p.Err()
			require.ErrorIs(t, err, feed.ErrInvalidParams)
			var pe *feed.ParamError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.param, pe.Name)
		})
	}
}

func TestNotificationsMatchDedupBatch(t *testing.T) {
	src := s3feed.Notifications()
	onlyAdded := notificationTrigger(t, map[string]any{"bucket": "bkt", "prefix": "in/", "suffix": ".csv", "events": "added"})
	pushed := func(key string, status s3feed.Status, etag string) feed.Event {
		e := s3feed.NotificationEvent{Bucket: "b", Key: key, Status: status, File: s3feed.NotifiedFile{Key: key, ETag: etag}, Source: s3feed.SourceNotification, EventTime: time.Unix(100, 0)}
		return feed.Event{Data: e}
	}
	polled := func(key string, status s3feed.Status, etag string) feed.Event {
		return feed.Event{Data: s3feed.NewEvent("b", s3feed.Change{Status: status, Object: s3feed.Object{Key: key, ETag: etag}}, s3feed.SourcePoll)}
	}
	t.Run("match", func(t *testing.T) {
		assert.True(t, src.Match(onlyAdded, pushed("in/x.csv", s3feed.StatusAdded, "e")))
		assert.True(t, src.Match(onlyAdded, polled("in/x.csv", s3feed.StatusModified, "e")), "an overwrite found by the reconcile poll is a write")
		assert.False(t, src.Match(onlyAdded, pushed("in/x.csv", s3feed.StatusDeleted, "")))
		assert.False(t, src.Match(onlyAdded, pushed("out/x.csv", s3feed.StatusAdded, "e")))
		assert.False(t, src.Match(onlyAdded, pushed("in/x.txt", s3feed.StatusAdded, "e")))
		assert.False(t, src.Match(onlyAdded, feed.Event{Data: "something else"}))
	})
	t.Run("dedup", func(t *testing.T) {
		key := func(e feed.Event) string { k, _ := src.Dedup(e); return k }
		assert.Equal(t, key(pushed("k", s3feed.StatusAdded, "e1")), key(polled("k", s3feed.StatusModified, "e1")), "pushed added = polled modified, same ETag")
		assert.Equal(t, key(pushed("k", s3feed.StatusAdded, "e1")), key(polled("k", s3feed.StatusAdded, "e1")))
		assert.NotEqual(t, key(pushed("k", s3feed.StatusAdded, "e1")), key(polled("k", s3feed.StatusAdded, "e2")))
		assert.Equal(t, key(pushed("k", s3feed.StatusDeleted, "")), key(polled("k", s3feed.StatusDeleted, "e1")), "deletions without ETag")
		assert.NotEqual(t, key(pushed("k", s3feed.StatusDeleted, "")), key(pushed("k", s3feed.StatusAdded, "")))
		_, at := src.Dedup(pushed("k", s3feed.StatusAdded, "e1"))
		assert.Equal(t, time.Unix(100, 0), at)
		k, _ := src.Dedup(feed.Event{Data: 1})
		assert.Empty(t, k)
	})
	t.Run("batch", func(t *testing.T) {
		b := src.Batch(onlyAdded, []feed.Event{pushed("in/1.csv", s3feed.StatusAdded, "e"), polled("in/2.csv", s3feed.StatusModified, "f")})
		raw, err := json.Marshal(b)
		require.NoError(t, err)
		var got struct {
			Bucket string `json:"bucket"`
			Events []struct {
				Key, Status, Source string
			} `json:"events"`
		}
		require.NoError(t, json.Unmarshal(raw, &got))
		assert.Equal(t, "b", got.Bucket)
		require.Len(t, got.Events, 2)
		assert.Equal(t, []string{"in/1.csv", "in/2.csv"}, []string{got.Events[0].Key, got.Events[1].Key})
		assert.Equal(t, []string{"notification", "poll"}, []string{got.Events[0].Source, got.Events[1].Source})
	})
}
