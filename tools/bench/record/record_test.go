package record_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/bench/record"
)

func TestReportReachesCollector(t *testing.T) {
	c := record.NewCollector()
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)

	tests := []struct {
		name   string
		params map[string]any
		keys   []string
	}{
		{"one event", map[string]any{"key": "a.txt", "bucket": "b"}, []string{"a.txt"}},
		{"a batch", map[string]any{"bucket": "b", "events": []map[string]any{{"key": "b.txt"}, {"key": "c.txt"}}}, []string{"b.txt", "c.txt"}},
	}
	before := time.Now()
	total := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.params[record.ParamURL] = srv.URL
			raw, err := json.Marshal(tc.params)
			require.NoError(t, err)
			res, err := record.Report(t.Context(), raw)
			require.NoError(t, err)
			assert.Equal(t, map[string]int{"events": len(tc.keys)}, res)
			total += len(tc.keys)
			for _, k := range tc.keys {
				started, err := c.WaitKey(t.Context(), k, time.Second)
				require.NoError(t, err)
				assert.False(t, started.Before(before.Truncate(time.Microsecond)), "started %v before %v", started, before)
				assert.False(t, started.After(time.Now()))
			}
		})
	}
	last, got, err := c.WaitEvents(t.Context(), total, time.Second)
	require.NoError(t, err)
	assert.Equal(t, total, got)
	assert.False(t, last.IsZero())

	c.Reset()
	_, got, err = c.WaitEvents(t.Context(), 1, 50*time.Millisecond)
	require.ErrorIs(t, err, record.ErrTimeout)
	assert.Zero(t, got)
	_, err = c.WaitKey(t.Context(), "a.txt", 50*time.Millisecond)
	require.ErrorIs(t, err, record.ErrTimeout)
}

func TestWaitEndsWithContext(t *testing.T) {
	c := record.NewCollector()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.WaitKey(ctx, "x", time.Minute)
	require.ErrorIs(t, err, context.Canceled)
}

func TestReportRejects(t *testing.T) {
	tests := []struct {
		name   string
		params string
		want   string
	}{
		{"no collector URL", `{"key":"a"}`, `parameter "recorder_url"`},
		{"not JSON", `[1`, "decode parameters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := record.Report(t.Context(), json.RawMessage(tc.params))
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
