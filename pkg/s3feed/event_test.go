package s3feed

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventJSONShape(t *testing.T) {
	c := Change{Status: StatusModified, Object: Object{
		Key:          "reports/q3.csv",
		ETag:         "9b2cf535f27731c974343645a3985328",
		Size:         123,
		LastModified: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		StorageClass: "STANDARD",
	}}
	b, err := json.Marshal(NewEvent("b", c, SourcePoll))
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"bucket": "b",
		"key": "reports/q3.csv",
		"status": "modified",
		"file": {"Key": "reports/q3.csv", "ETag": "9b2cf535f27731c974343645a3985328", "Size": 123,
		         "LastModified": "2026-11-25T10:00:00Z", "StorageClass": "STANDARD"},
		"event_id": "`+EventID("b", "reports/q3.csv", "9b2cf535f27731c974343645a3985328", StatusModified)+`",
		"source": "poll"
	}`, string(b))

	batch, err := json.Marshal(Batch{Bucket: "b", Events: []Event{NewEvent("b", c, SourceNotification)}})
	require.NoError(t, err)
	var shape map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(batch, &shape))
	assert.Len(t, shape, 2)
	assert.JSONEq(t, `"b"`, string(shape["bucket"]))
	var events []map[string]any
	require.NoError(t, json.Unmarshal(shape["events"], &events))
	require.Len(t, events, 1)
	assert.Equal(t, "notification", events[0]["source"])
	assert.Equal(t, "reports/q3.csv", events[0]["key"])
}

func TestEventID(t *testing.T) {
	id := EventID("b", "k", "e", StatusAdded)
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), id)
	// Pinned: the identifier must not change between releases, or consumers
	// would see duplicates as new events. Computed independently as the first
	// 32 hex digits of sha256("\x01b\x01k\x01e\x05added").
	assert.Equal(t, "05da0b511b909df3df16fe8a5c23d60d", id)
	assert.Equal(t, id, EventID("b", "k", "e", StatusAdded))

	others := []string{
		EventID("b2", "k", "e", StatusAdded),
		EventID("b", "k2", "e", StatusAdded),
		EventID("b", "k", "e2", StatusAdded),
		EventID("b", "k", "e", StatusDeleted),
		EventID("bk", "", "e", StatusAdded), // fields shifted across a boundary
		EventID("b", "ke", "", StatusAdded),
	}
	seen := map[string]bool{id: true}
	for _, o := range others {
		assert.False(t, seen[o], "collision %s", o)
		seen[o] = true
	}
}

func TestParseEvents(t *testing.T) {
	tests := []struct {
		in      string
		want    StatusSet
		wantErr bool
	}{
		{in: "", want: 0},
		{in: "  ", want: 0},
		{in: "added", want: setAdded},
		{in: "added,deleted", want: setAdded | setDeleted},
		{in: " Modified , ADDED ", want: setAdded | setModified},
		{in: "added,modified,deleted", want: setAdded | setModified | setDeleted},
		{in: "created", wantErr: true},
		{in: "added,", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseEvents(tc.in)
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "events")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			again, err := ParseEvents(got.String())
			require.NoError(t, err)
			assert.Equal(t, got, again)
		})
	}
}

func TestFilterMatch(t *testing.T) {
	tests := []struct {
		name   string
		filter Filter
		key    string
		status Status
		want   bool
	}{
		{name: "zero filter", key: "a/b.csv", status: StatusDeleted, want: true},
		{name: "prefix match", filter: Filter{Prefix: "a/"}, key: "a/b.csv", status: StatusAdded, want: true},
		{name: "prefix miss", filter: Filter{Prefix: "b/"}, key: "a/b.csv", status: StatusAdded},
		{name: "suffix match", filter: Filter{Suffix: ".csv"}, key: "a/b.csv", status: StatusAdded, want: true},
		{name: "suffix miss", filter: Filter{Suffix: ".json"}, key: "a/b.csv", status: StatusAdded},
		{name: "status selected", filter: Filter{Events: setDeleted}, key: "a", status: StatusDeleted, want: true},
		{name: "status not selected", filter: Filter{Events: setDeleted | setAdded}, key: "a", status: StatusModified},
		{name: "all three", filter: Filter{Prefix: "a", Suffix: "v", Events: setAdded}, key: "a/b.csv", status: StatusAdded, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.filter.Match(tc.key, tc.status))
		})
	}
}

func TestNormalizeETag(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"9b2cf535f27731c974343645a3985328"`, "9b2cf535f27731c974343645a3985328"},
		{`"9b2cf535f27731c974343645a3985328-12"`, "9b2cf535f27731c974343645a3985328-12"},
		{"9b2cf535f27731c974343645a3985328", "9b2cf535f27731c974343645a3985328"},
		{`""`, ""},
		{`"`, `"`},
		{"", ""},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, NormalizeETag(tc.in), tc.in)
	}
}
