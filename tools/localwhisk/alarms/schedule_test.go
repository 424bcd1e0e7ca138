package alarms

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   any
		want time.Time
		ok   bool
	}{
		{float64(4102444800000), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"2100-01-01T00:00:00Z", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"2100-01-01T01:30:00.250+01:00", time.Date(2100, 1, 1, 0, 30, 0, 250e6, time.UTC), true},
		{"2100-01-01", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"2100-01-01T10:00", time.Date(2100, 1, 1, 10, 0, 0, 0, time.Local), true},
		{"2100-01-01 10:00:05", time.Date(2100, 1, 1, 10, 0, 5, 0, time.Local), true},
		{true, time.UnixMilli(1), true},
		{"tomorrow", time.Time{}, false},
		{"4102444800000", time.Time{}, false}, // JavaScript's Date does not read digits as epoch ms
		{float64(9e15), time.Time{}, false},
		{map[string]any{}, time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := parseDate(tc.in)
		require.Equal(t, tc.ok, ok, "%v", tc.in)
		if ok {
			assert.True(t, tc.want.Equal(got), "%v: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestJSText(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{float64(1700000000000), "1700000000000"},
		{1.5, "1.5"},
		{"s", "s"},
		{true, "true"},
		{nil, "null"},
		{[]any{float64(1), "a"}, "1,a"},
		{map[string]any{"a": 1}, "[object Object]"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, jsText(tc.in))
	}
}

func TestPayloadOf(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, `{}`},
		{"", `{"payload":""}`},
		{"x", `{"payload":"x"}`},
		{map[string]any{"a": []any{1.0}}, `{"a":[1]}`},
		{false, `{}`},
		{float64(0), `{}`},
	}
	for _, tc := range tests {
		got, err := payloadOf(tc.in)
		require.NoError(t, err)
		assert.JSONEq(t, tc.want, string(got))
	}
	for _, bad := range []any{float64(3), true, []any{}} {
		_, err := payloadOf(bad)
		assert.Error(t, err, "%v", bad)
	}
}

// The expected offsets were computed with upstream's hash in node.
func TestHashSeconds(t *testing.T) {
	tests := []struct {
		name       string
		at59, at10 int
	}{
		{"a", 37, 9},
		{"ticker", 34, 2},
		{"myVeryLongTriggerNameForTestingPurposes_0123456789", 25, 1},
		{"ünïcødé☃", 44, 0},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.at59, hashSeconds(tc.name, 59), tc.name)
		assert.Equal(t, tc.at10, hashSeconds(tc.name, 10), tc.name)
	}
	r := &record{Name: "ticker", Cron: "*/5 * * * *"}
	assert.Equal(t, "*/5 * * * *", r.cronSpec(0))
	assert.Equal(t, "34 */5 * * * *", r.cronSpec(59))
	r.Strict = "TRUE"
	assert.Equal(t, "*/5 * * * *", r.cronSpec(59), "strict alarms keep their pattern")
	r.Strict, r.Cron = nil, "1 */5 * * * *"
	assert.Equal(t, "1 */5 * * * *", r.cronSpec(59), "six-field patterns are kept")
}

func TestPlanAndAdvance(t *testing.T) {
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	ms := func(t time.Time) float64 { return float64(t.UnixMilli()) }

	t.Run("interval before start", func(t *testing.T) {
		e := &entry{rec: &record{Minutes: 2, StartDate: ms(now.Add(time.Minute))}}
		require.NoError(t, e.plan(now, 0))
		sameTime(t, now.Add(time.Minute), e.next)
		e.advance(e.next, e.next)
		sameTime(t, now.Add(3*time.Minute), e.next)
		e.advance(e.next, e.next.Add(5*time.Minute)) // late: missed ticks are skipped
		sameTime(t, now.Add(9*time.Minute), e.next)
	})
	t.Run("interval past start keeps its grid", func(t *testing.T) {
		e := &entry{rec: &record{Minutes: 10, StartDate: ms(now.Add(-25 * time.Minute))}}
		require.NoError(t, e.plan(now, 0))
		sameTime(t, now.Add(5*time.Minute), e.next)
	})
	t.Run("interval next after stop", func(t *testing.T) {
		e := &entry{rec: &record{Minutes: 10, StartDate: ms(now.Add(-25 * time.Minute)), StopDate: ms(now.Add(time.Minute))}}
		assert.ErrorIs(t, e.plan(now, 0), errNextAfterEnd)
	})
	t.Run("cron in timezone", func(t *testing.T) {
		e := &entry{rec: &record{Cron: "0 9 * * *", Timezone: "Asia/Tokyo"}}
		require.NoError(t, e.plan(now, 0))
		assert.True(t, time.Date(2030, 5, 2, 0, 0, 0, 0, time.UTC).Equal(e.next), "09:00 in Tokyo is 00:00 UTC: %v", e.next)
	})
	t.Run("cron waits for start and stops before stop", func(t *testing.T) {
		start := now.Add(90 * time.Second)
		e := &entry{rec: &record{Cron: "*/30 * * * * *", StartDate: ms(start), StopDate: ms(now.Add(3 * time.Minute))}}
		require.NoError(t, e.plan(now, 0))
		sameTime(t, now.Add(2*time.Minute), e.next)
		e.advance(e.next, e.next)
		sameTime(t, now.Add(150*time.Second), e.next)
		_, last := e.lastBeforeStop(e.next)
		assert.False(t, last)
		e.advance(e.next, e.next)
		sameTime(t, now.Add(3*time.Minute), e.next)
		msg, last := e.lastBeforeStop(e.next)
		assert.True(t, last)
		assert.Equal(t, "Automatically disabled after firing last scheduled cron trigger", msg)
		e.advance(e.next, e.next)
		assert.True(t, e.next.IsZero())
	})
	t.Run("once", func(t *testing.T) {
		e := &entry{rec: &record{Date: "2030-05-01T12:00:01Z"}}
		require.NoError(t, e.plan(now, 0))
		e.advance(e.next, e.next)
		assert.True(t, e.next.IsZero())
		e = &entry{rec: &record{Date: "2030-05-01T12:00:00Z"}}
		assert.ErrorIs(t, e.plan(now, 0), errOnceExpired)
	})
}

func TestRecordJSONKeepsDates(t *testing.T) {
	r := &record{ID: "k/ns/t", AuthKey: "k", Namespace: "ns", Name: "t", Payload: json.RawMessage(`{}`),
		StartDate: float64(4102444800000), StopDate: "2100-02-01T00:00:00Z", Cron: "* * * * *", MaxTriggers: -1}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var back record
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r.read().Config, back.read().Config)
}

func sameTime(t *testing.T, want, got time.Time) {
	t.Helper()
	assert.True(t, want.Equal(got), "got %v, want %v", got, want)
}
