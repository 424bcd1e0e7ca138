package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

func TestReceive(t *testing.T) {
	tests := []struct {
		name     string
		params   string
		wantLog  string
		wantKeys []string
	}{
		{
			name: "single event from a rule, headers ignored",
			params: `{"bucket":"b","key":"reports/q3.csv","status":"added","source":"poll",
				"file":{"Key":"reports/q3.csv","ETag":"abc","Size":12},"event_id":"e1",
				"__ow_headers":{"authorization":"Basic c2VjcmV0"}}`,
			wantLog:  "added reports/q3.csv (12 B) via poll\n",
			wantKeys: []string{"reports/q3.csv"},
		},
		{
			name: "batch",
			params: `{"bucket":"b","events":[
				{"key":"a.txt","status":"modified","file":{"Key":"a.txt","Size":2048},"source":"poll"},
				{"key":"old.txt","status":"deleted","file":{"Key":"old.txt","Size":5},"source":"notification"}]}`,
			wantLog:  "modified a.txt (2.0 KiB) via poll\ndeleted old.txt via notification\n",
			wantKeys: []string{"a.txt", "old.txt"},
		},
		{
			name:     "no event",
			params:   `{}`,
			wantLog:  "no event in the parameters\n",
			wantKeys: []string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			res, err := runtime.Typed(receive(&log)).Invoke(t.Context(), json.RawMessage(tc.params))
			require.NoError(t, err)
			assert.Equal(t, tc.wantLog, log.String())

			b, err := json.Marshal(res)
			require.NoError(t, err)
			assert.NotContains(t, string(b), "c2VjcmV0", "the result must not echo the fire's headers")
			var out struct {
				Received int `json:"received"`
				Events   []struct {
					Bucket string `json:"bucket"`
					Key    string `json:"key"`
				} `json:"events"`
			}
			require.NoError(t, json.Unmarshal(b, &out))
			assert.Equal(t, len(tc.wantKeys), out.Received)
			keys := []string{}
			for _, e := range out.Events {
				keys = append(keys, e.Key)
				assert.Equal(t, "b", e.Bucket, "every event names its bucket")
			}
			assert.Equal(t, tc.wantKeys, keys)
		})
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{5 << 20, "5.0 MiB"},
		{3 << 30, "3.0 GiB"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, size(tc.n), "size(%d)", tc.n)
	}
}
