package feed_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
)

func TestRecordID(t *testing.T) {
	assert.Equal(t, "trigger:guest/uploads", feed.RecordID("guest", "uploads"))
}

func TestNewRecordIsActive(t *testing.T) {
	before := time.Now().UnixMilli()
	r := feed.NewRecord("s3-changes", "guest", "uploads")
	assert.Equal(t, "trigger:guest/uploads", r.ID)
	assert.Equal(t, feed.RecordType, r.Type)
	assert.True(t, r.Status.Active)
	assert.Nil(t, r.Status.Reason)
	assert.GreaterOrEqual(t, r.Status.DateChanged, before)
	iso, err := time.Parse(time.RFC3339, r.Status.DateChangedISO)
	require.NoError(t, err)
	assert.Equal(t, r.Status.DateChanged, iso.UnixMilli())
}

func TestStatusShape(t *testing.T) {
	r := feed.NewRecord("s3-changes", "guest", "uploads")
	r.Disable(feed.ReasonAuto, 404, "trigger not found")

	var got struct {
		Status map[string]any `json:"status"`
	}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, false, got.Status["active"])
	assert.Equal(t, map[string]any{"kind": "AUTO", "statusCode": float64(404), "message": "trigger not found"}, got.Status["reason"])
	assert.Contains(t, got.Status, "dateChanged")
	assert.Contains(t, got.Status, "dateChangedISO")

	r.Enable()
	b, err = json.Marshal(r.Status)
	require.NoError(t, err)
	var enabled map[string]any
	require.NoError(t, json.Unmarshal(b, &enabled))
	assert.Equal(t, true, enabled["active"])
	assert.NotContains(t, enabled, "reason")
}

func TestRecordJSONFieldNames(t *testing.T) {
	r := feed.NewRecord("s3-changes", "guest", "uploads")
	r.Rev = "1-abc"
	r.Config = json.RawMessage(`{"bucket":"b"}`)
	r.UnknownParams = []string{"colour"}
	r.Alarm = feed.Alarm{Trigger: "at", Rule: "ar"}
	r.Lease = feed.Lease{Holder: "h", Until: 5}
	r.Cursor = json.RawMessage(`"c"`)
	r.Snapshot = feed.Snapshot{Generation: 2, Chunks: []feed.ChunkRef{{ID: "snap:guest/uploads:2:0", Hash: "h", Count: 1, Bytes: 3}}}
	r.Stats = feed.Stats{Polls: 1, EventsUnseen: 2, ConsecutiveFailures: 3, LastError: "x", LastErrorAt: time.Unix(1, 0)}
	r.Created = time.Unix(1, 0)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"_id", "_rev", "type", "kind", "namespace", "name", "config", "unknown_params", "status", "paused", "stats", "alarm", "lease", "cursor", "snapshot", "created"} {
		assert.Contains(t, m, k)
	}
	assert.NotContains(t, m, "_deleted")
	assert.NotContains(t, m, "secrets", "no secrets, no field")
	stats := m["stats"].(map[string]any)
	for _, k := range []string{"polls", "events_fired", "events_unseen", "errors", "consecutive_failures", "last_error", "last_error_at", "objects"} {
		assert.Contains(t, stats, k)
	}
	assert.Equal(t, map[string]any{"holder": "h", "until": float64(5)}, m["lease"])

	var back feed.Record
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r.Snapshot, back.Snapshot)
	assert.Equal(t, r.Stats.LastErrorAt.UnixMilli(), back.Stats.LastErrorAt.UnixMilli())
}

func TestLeaseHeld(t *testing.T) {
	now := time.UnixMilli(1000)
	cases := []struct {
		name  string
		lease feed.Lease
		want  bool
	}{
		{"empty", feed.Lease{}, false},
		{"unexpired", feed.Lease{Holder: "a", Until: 1001}, true},
		{"expires now", feed.Lease{Holder: "a", Until: 1000}, false},
		{"expired", feed.Lease{Holder: "a", Until: 10}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.lease.Held(now))
		})
	}
}
