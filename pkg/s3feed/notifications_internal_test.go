package s3feed

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
)

func TestWantedEntry(t *testing.T) {
	trig := func(prefix, suffix string, events ...string) *feed.Trigger {
		if events == nil {
			events = []string{"added", "deleted"}
		}
		tr, err := feed.NewTrigger("guest", "t", KindNotifications, NotificationsSettings{
			BucketConfig: BucketConfig{Bucket: "b"}, Prefix: prefix, Suffix: suffix, Events: events}, nil)
		require.NoError(t, err)
		return tr
	}
	const arn = "arn:minio:sqs::X:webhook"
	tests := []struct {
		name     string
		triggers []*feed.Trigger
		want     *entry
	}{
		{"none", nil, nil},
		{"one", []*feed.Trigger{trig("in/", ".csv", "added")}, &entry{ARN: arn, Events: []string{EventTypeCreated}, Prefix: "in/", Suffix: ".csv"}},
		{"union of events", []*feed.Trigger{trig("", "", "added"), trig("", "", "deleted")}, &entry{ARN: arn, Events: []string{EventTypeCreated, EventTypeRemoved}}},
		{"shared prefix and suffix", []*feed.Trigger{trig("logs/a/", "x.csv"), trig("logs/b/", "y.csv")}, &entry{ARN: arn, Events: []string{EventTypeCreated, EventTypeRemoved}, Prefix: "logs/", Suffix: ".csv"}},
		{"nothing shared", []*feed.Trigger{trig("a/", ".csv"), trig("b/", ".txt")}, &entry{ARN: arn, Events: []string{EventTypeCreated, EventTypeRemoved}}},
		{"one without filter", []*feed.Trigger{trig("a/", ".csv"), trig("", "")}, &entry{ARN: arn, Events: []string{EventTypeCreated, EventTypeRemoved}}},
		// é and è share their first byte: a filter never splits a character.
		{"whole characters", []*feed.Trigger{trig("日本/é", "é"), trig("日本/è", "è")}, &entry{ARN: arn, Events: []string{EventTypeCreated, EventTypeRemoved}, Prefix: "日本/"}},
		{"value stores refuse", []*feed.Trigger{trig("a/../b", "")}, &entry{ARN: arn, Events: []string{EventTypeCreated, EventTypeRemoved}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := wantedEntry(arn, tc.triggers)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestEntryID(t *testing.T) {
	a, b := EntryID("arn:minio:sqs::A:webhook"), EntryID("arn:minio:sqs::B:webhook")
	assert.Regexp(t, `^whiskfeed-[0-9a-f]{16}$`, a)
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, EntryID("arn:minio:sqs::A:webhook"))
}

func TestTargetName(t *testing.T) {
	assert.Equal(t, "http://minio.example:9000/b", targetName("HTTP://MinIO.example:9000", "b"))
	assert.Equal(t, "https://s3.example/path/b", targetName("https://s3.example/path/", "b"))
	assert.Equal(t, "s3://b", targetName("", "b"))
}
