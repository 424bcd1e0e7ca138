package alarms_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/alarms"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

func TestPackageInstalled(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{})
	ctx := t.Context()
	pkg, err := e.guest.Package(ctx, whisk.QName{Namespace: "whisk.system", Name: "alarms"})
	require.NoError(t, err)
	assert.True(t, pkg.Publish)
	v, ok := pkg.Parameters.Lookup("trigger_payload")
	require.True(t, ok)
	assert.Equal(t, "", v)
	v, ok = pkg.Parameters.Lookup("apihost")
	require.True(t, ok)
	assert.Equal(t, e.url, v)

	// `wsk package get --summary` reads the description and parameters
	// annotations; parameters must be an array of {name, required}.
	desc, ok := pkg.Annotations.Lookup("description")
	require.True(t, ok)
	assert.NotEmpty(t, desc)
	assert.Equal(t, []any{map[string]any{"name": "trigger_payload", "required": false}}, annotation(t, pkg.Annotations, "parameters"))

	tests := []struct {
		feed     whisk.QName
		bound    string   // the parameter that selects the kind of alarm
		params   []string // the parameters annotation, required first
		required string
	}{
		{feedAlarm, "", []string{"cron", "timezone", "startDate", "stopDate", "strict"}, "cron"},
		{feedOnce, "fireOnce", []string{"date", "deleteAfterFire"}, "date"},
		{feedInterval, "isInterval", []string{"minutes", "startDate", "stopDate"}, "minutes"},
	}
	for _, tc := range tests {
		t.Run(tc.feed.Name, func(t *testing.T) {
			a, err := e.guest.Action(ctx, tc.feed, false)
			require.NoError(t, err)
			feed, ok := a.Annotations.Lookup("feed")
			require.True(t, ok)
			assert.Equal(t, true, feed)
			desc, ok := a.Annotations.Lookup("description")
			require.True(t, ok)
			assert.NotEmpty(t, desc)
			var want []any
			for _, n := range tc.params {
				want = append(want, map[string]any{"name": n, "required": n == tc.required})
			}
			assert.Equal(t, want, annotation(t, a.Annotations, "parameters"))
			for _, k := range []string{"fireOnce", "isInterval"} {
				v, ok := a.Parameters.Lookup(k)
				assert.Equal(t, k == tc.bound, ok, k)
				if ok {
					assert.Equal(t, true, v)
				}
			}
		})
	}
}

func TestCronFiresPayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload any // nil: not given
		want    map[string]any
	}{
		{"object", map[string]any{"a": 1, "b": "x"}, map[string]any{"a": float64(1), "b": "x"}},
		{"string", "hello", map[string]any{"payload": "hello"}},
		{"empty string", "", map[string]any{"payload": ""}},
		{"absent", nil, map[string]any{"payload": ""}},
	}
	recs := map[string]*recorder{}
	for i := range tests {
		recs["rec"+string(rune('a'+i))] = &recorder{}
	}
	e := startEnv(t, envConfig{builtins: recs})
	for i, tc := range tests {
		params := map[string]any{"cron": "* * * * * *"}
		if tc.payload != nil {
			params["trigger_payload"] = tc.payload
		}
		e.feedTrigger(t, "t"+string(rune('a'+i)), feedAlarm, params, "rec"+string(rune('a'+i)))
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := recs["rec"+string(rune('a'+i))]
			r.waitCount(t, 2) // a six-field cron fires every second, repeatedly
			for _, got := range r.payloads() {
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{})
	ctx := t.Context()
	_, err := e.guest.PutTrigger(ctx, whisk.QName{Name: "T"}, whisk.Trigger{}, whisk.CreateOnly)
	require.NoError(t, err)

	const every = "* * * * *"
	tests := []struct {
		name   string
		feed   whisk.QName
		params map[string]any
		want   string
	}{
		{"cron missing", feedAlarm, nil, "alarms trigger feed is missing the cron parameter"},
		{"cron empty", feedAlarm, map[string]any{"cron": ""}, "alarms trigger feed is missing the cron parameter"},
		{"cron words", feedAlarm, map[string]any{"cron": "every minute"}, "cron pattern 'every minute' is not valid"},
		{"cron seven fields", feedAlarm, map[string]any{"cron": "* * * * * * *"}, "cron pattern '* * * * * * *' is not valid"},
		{"cron out of range", feedAlarm, map[string]any{"cron": "61 * * * *"}, "cron pattern '61 * * * *' is not valid"},
		{"cron never", feedAlarm, map[string]any{"cron": "0 0 30 2 *"}, "cron pattern '0 0 30 2 *' is not valid"},
		{"cron descriptor", feedAlarm, map[string]any{"cron": "@every 5s"}, "cron pattern '@every 5s' is not valid"},
		{"cron number", feedAlarm, map[string]any{"cron": 5}, "cron pattern '5' is not valid"},
		{"timezone", feedAlarm, map[string]any{"cron": every, "timezone": "Mars/Olympus_Mons"}, "Invalid timezone."},
		{"startDate past", feedAlarm, map[string]any{"cron": every, "startDate": 1000}, "startDate parameter '1000' must be in the future"},
		{"startDate invalid", feedAlarm, map[string]any{"cron": every, "startDate": "soon"}, "startDate parameter 'soon' is not a valid Date"},
		{"stopDate past", feedAlarm, map[string]any{"cron": every, "stopDate": "2001-02-03T04:05:06Z"}, "stopDate parameter '2001-02-03T04:05:06Z' must be in the future"},
		{"stopDate before startDate", feedAlarm, map[string]any{"cron": every, "startDate": "2099-01-02T00:00:00Z", "stopDate": "2099-01-01T00:00:00Z"},
			"stopDate parameter '2099-01-01T00:00:00Z' must be greater than the startDate parameter '2099-01-02T00:00:00Z'"},
		{"stopDate equals startDate", feedAlarm, map[string]any{"cron": every, "startDate": 4102444800000, "stopDate": 4102444800000},
			"stopDate parameter '4102444800000' must be greater than the startDate parameter '4102444800000'"},
		{"first fire after stopDate", feedAlarm, map[string]any{"cron": "0 0 * * *", "startDate": "2099-01-01T00:00:10Z", "stopDate": "2099-01-01T00:00:20Z"},
			"the first scheduled trigger fire is not until after the stop date"},
		{"maxTriggers with stopDate", feedAlarm, map[string]any{"cron": every, "stopDate": "2099-01-01T00:00:00Z", "maxTriggers": 3},
			"maxTriggers is not allowed when the stopDate parameter is specified"},
		{"payload number", feedAlarm, map[string]any{"cron": every, "trigger_payload": 5},
			"trigger_payload parameter must be a JSON object or a string, got '5'"},
		{"payload array", feedAlarm, map[string]any{"cron": every, "trigger_payload": []any{1, 2}},
			"trigger_payload parameter must be a JSON object or a string, got '1,2'"},
		{"minutes missing", feedInterval, nil, "interval trigger feed is missing the minutes parameter"},
		{"minutes zero", feedInterval, map[string]any{"minutes": 0}, "interval trigger feed is missing the minutes parameter"},
		{"minutes fraction", feedInterval, map[string]any{"minutes": 1.5}, "the minutes parameter must be an integer"},
		{"minutes word", feedInterval, map[string]any{"minutes": "ten"}, "the minutes parameter must be an integer"},
		{"minutes negative", feedInterval, map[string]any{"minutes": -2}, "the minutes parameter must be an integer greater than zero"},
		{"interval maxTriggers with stopDate", feedInterval, map[string]any{"minutes": 1, "stopDate": "2099-01-01T00:00:00Z", "maxTriggers": 2},
			"maxTriggers is not supported for the interval trigger feed"},
		{"interval startDate past", feedInterval, map[string]any{"minutes": 1, "startDate": "2000-01-01"}, "startDate parameter '2000-01-01' must be in the future"},
		{"date missing", feedOnce, nil, "alarms once trigger feed is missing the date parameter"},
		{"date past", feedOnce, map[string]any{"date": "2000-01-01T00:00:00Z"}, "date parameter '2000-01-01T00:00:00Z' must be in the future"},
		{"date invalid", feedOnce, map[string]any{"date": "not a date"}, "date parameter 'not a date' is not a valid Date"},
		{"deleteAfterFire", feedOnce, map[string]any{"date": "2099-01-01T00:00:00Z", "deleteAfterFire": "maybe"},
			"deleteAfterFire parameter must be one of [false, true, rules]."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.guest.InvokeFeed(ctx, tc.feed, whisk.FeedCreate, whisk.QName{Name: "T"}, tc.params)
			assert.Equal(t, tc.want, feedError(t, err))
		})
	}
	assert.Empty(t, e.prov.Snapshot(), "no invalid CREATE may store a record")

	t.Run("interval stopDate before default startDate", func(t *testing.T) {
		_, err := e.guest.InvokeFeed(ctx, feedInterval, whisk.FeedCreate, whisk.QName{Name: "T"},
			map[string]any{"minutes": 1, "stopDate": millis(10 * time.Second)})
		assert.Regexp(t, `^stopDate parameter '\d+' must be greater than the startDate parameter '\d+'$`, feedError(t, err))
	})
	t.Run("trigger missing", func(t *testing.T) {
		_, err := e.guest.InvokeFeed(ctx, feedAlarm, whisk.FeedCreate, whisk.QName{Name: "nope"}, map[string]any{"cron": every})
		assert.Equal(t, "Trigger authentication request failed.", feedError(t, err))
	})
	t.Run("trigger of another namespace", func(t *testing.T) {
		sys, err := whisk.New(e.url, server.WhiskSystemAuthKey)
		require.NoError(t, err)
		_, err = sys.InvokeFeed(ctx, feedAlarm, whisk.FeedCreate, whisk.QName{Namespace: "guest", Name: "T"}, map[string]any{"cron": every})
		assert.Equal(t, "Trigger authentication request failed.", feedError(t, err), "the feed works on the caller's namespace")
	})
	t.Run("unsupported lifecycleEvent", func(t *testing.T) {
		_, err := e.guest.InvokeFeed(ctx, feedAlarm, whisk.FeedPause, whisk.QName{Name: "T"}, nil)
		assert.Equal(t, "unsupported lifecycleEvent", feedError(t, err))
	})
	t.Run("triggerName missing", func(t *testing.T) {
		_, err := e.guest.InvokeBlocking(ctx, feedAlarm, map[string]any{"lifecycleEvent": "CREATE", "authKey": server.GuestAuthKey, "cron": every})
		assert.Equal(t, "no trigger name parameter was provided", feedError(t, err))
	})
}

func TestLimitCronFields(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{opts: []alarms.Option{alarms.WithLimitCronFields()}})
	ctx := t.Context()
	_, err := e.guest.PutTrigger(ctx, whisk.QName{Name: "T"}, whisk.Trigger{}, whisk.CreateOnly)
	require.NoError(t, err)
	_, err = e.guest.InvokeFeed(ctx, feedAlarm, whisk.FeedCreate, whisk.QName{Name: "T"}, map[string]any{"cron": "*/5 * * * * *"})
	assert.Equal(t, "cron pattern is limited to 5 fields with 1 minute as the finest granularity", feedError(t, err))
	_, err = e.guest.InvokeFeed(ctx, feedAlarm, whisk.FeedCreate, whisk.QName{Name: "T"}, map[string]any{"cron": "0 */5 * * * *"})
	assert.NoError(t, err, "a zero seconds field is allowed")
}

func TestReadShape(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{})
	before := time.Now().UnixMilli()
	e.feedTrigger(t, "c", feedAlarm, map[string]any{
		"cron": "0 0 * * *", "timezone": "Europe/Berlin", "strict": true, "trigger_payload": map[string]any{"k": "v"},
		"startDate": "2099-01-01T00:00:00Z", "stopDate": 4102444800000 + 10*86400000,
	}, "")
	e.feedTrigger(t, "i", feedInterval, map[string]any{"minutes": 5, "startDate": 4102444800000}, "")
	e.feedTrigger(t, "o", feedOnce, map[string]any{"date": "2099-06-01T12:00:00Z", "deleteAfterFire": " Rules ", "trigger_payload": "p"}, "")
	after := time.Now().UnixMilli()

	tests := []struct {
		trigger string
		config  string
	}{
		{"c", `{"name":"c","namespace":"guest","payload":{"k":"v"},"strict":true,"cron":"0 0 * * *","timezone":"Europe/Berlin",
			"startDate":"2099-01-01T00:00:00Z","stopDate":4103308800000}`},
		{"i", `{"name":"i","namespace":"guest","payload":{"payload":""},"strict":false,"minutes":5,"startDate":4102444800000}`},
		{"o", `{"name":"o","namespace":"guest","payload":{"payload":"p"},"strict":false,"date":"2099-06-01T12:00:00Z","deleteAfterFire":"rules"}`},
	}
	for _, tc := range tests {
		t.Run(tc.trigger, func(t *testing.T) {
			act, err := e.guest.ReadFeed(t.Context(), whisk.QName{Name: tc.trigger})
			require.NoError(t, err)
			var raw map[string]json.RawMessage
			require.NoError(t, act.Response.Decode(&raw))
			assert.Len(t, raw, 2)
			assert.JSONEq(t, tc.config, string(raw["config"]))

			var st map[string]any
			require.NoError(t, json.Unmarshal(raw["status"], &st))
			assert.ElementsMatch(t, []string{"active", "dateChanged", "dateChangedISO"}, keys(st), "no reason while active")
			assert.Equal(t, true, st["active"])
			changed := int64(st["dateChanged"].(float64))
			assert.GreaterOrEqual(t, changed, before)
			assert.LessOrEqual(t, changed, after)
			assert.Equal(t, time.UnixMilli(changed).UTC().Format(time.RFC3339), st["dateChangedISO"])
		})
	}

	t.Run("interval default startDate", func(t *testing.T) {
		from := time.Now().Add(30 * time.Second).UnixMilli()
		e.feedTrigger(t, "d", feedInterval, map[string]any{"minutes": 1}, "")
		to := time.Now().Add(30 * time.Second).UnixMilli()
		rr := e.readFeed(t, "d")
		start, ok := rr.Config.StartDate.(float64)
		require.True(t, ok, "a defaulted startDate is epoch milliseconds")
		assert.GreaterOrEqual(t, int64(start), from)
		assert.LessOrEqual(t, int64(start), to)
	})
	t.Run("no record", func(t *testing.T) {
		_, err := e.guest.PutTrigger(t.Context(), whisk.QName{Name: "bare"},
			whisk.Trigger{Annotations: whisk.KeyValues{{Key: "feed", Value: "/whisk.system/alarms/alarm"}}}, whisk.CreateOnly)
		require.NoError(t, err)
		_, err = e.guest.ReadFeed(t.Context(), whisk.QName{Name: "bare"})
		assert.Equal(t, "could not find trigger /guest/bare in the database", feedError(t, err))
	})
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDisabledOn404ThenUpdateReenables(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	e := startEnv(t, envConfig{builtins: map[string]*recorder{"rec": rec}})
	ctx := t.Context()
	e.feedTrigger(t, "T", feedAlarm, map[string]any{"cron": "* * * * * *", "trigger_payload": "v1"}, "rec")
	rec.waitCount(t, 1)

	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"nothing", nil, "no updatable parameters were specified"},
		{"not applicable to cron", map[string]any{"minutes": 5, "date": "2099-01-01T00:00:00Z"}, "no updatable parameters were specified"},
		{"bad cron", map[string]any{"cron": "bad"}, "cron pattern 'bad' is not valid"},
		{"bad timezone", map[string]any{"timezone": "Nowhere/Else"}, "Invalid timezone."},
		{"startDate past", map[string]any{"startDate": 1000}, "startDate parameter '1000' must be in the future"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.guest.UpdateFeed(ctx, whisk.QName{Name: "T"}, tc.params)
			assert.Equal(t, tc.want, feedError(t, err))
		})
	}

	// the trigger disappears behind the alarm's back: the next fire gets 404
	require.NoError(t, e.guest.DeleteTrigger(ctx, whisk.QName{Name: "T"}))
	st := e.waitDisabled(t, "T")
	require.NotNil(t, st.Reason)
	assert.Equal(t, alarms.Reason{Kind: "AUTO", StatusCode: http.StatusNotFound,
		Message: "Trigger automatically disabled: Received a 404 status code when firing the trigger"}, *st.Reason)

	// with the trigger back, READ shows the disabled record; UPDATE re-enables it
	_, err := e.guest.PutTrigger(ctx, whisk.QName{Name: "T"},
		whisk.Trigger{Annotations: whisk.KeyValues{{Key: "feed", Value: "/whisk.system/alarms/alarm"}}}, whisk.CreateOnly)
	require.NoError(t, err)
	// (the old rule survived the trigger but is inactive now, as on OpenWhisk)
	_, err = e.guest.PutRule(ctx, whisk.QName{Name: "T-rule2"}, whisk.QName{Name: "T"}, whisk.QName{Name: "rec"}, whisk.CreateOnly)
	require.NoError(t, err)
	rr := e.readFeed(t, "T")
	assert.False(t, rr.Status.Active)
	require.NotNil(t, rr.Status.Reason)
	assert.Equal(t, 404, rr.Status.Reason.StatusCode)

	seen := rec.count()
	_, err = e.guest.UpdateFeed(ctx, whisk.QName{Name: "T"}, map[string]any{"trigger_payload": map[string]any{"v": 2}})
	require.NoError(t, err)
	rr = e.readFeed(t, "T")
	assert.True(t, rr.Status.Active)
	assert.Nil(t, rr.Status.Reason)
	assert.JSONEq(t, `{"v":2}`, string(rr.Config.Payload))
	assert.Equal(t, "* * * * * *", rr.Config.Cron, "UPDATE keeps what it was not given")
	rec.waitCount(t, seen+1)
	got := rec.payloads()
	assert.Equal(t, map[string]any{"v": float64(2)}, got[len(got)-1])
}

func TestUpdateDates(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{})
	ctx := t.Context()
	e.feedTrigger(t, "T", feedAlarm, map[string]any{"cron": "0 0 * * *", "stopDate": "2099-01-10T00:00:00Z"}, "")

	_, err := e.guest.UpdateFeed(ctx, whisk.QName{Name: "T"}, map[string]any{"startDate": "2099-01-11T00:00:00Z"})
	assert.Equal(t, "startDate parameter '2099-01-11T00:00:00Z' must be less than the stopDate parameter '2099-01-10T00:00:00Z'", feedError(t, err))
	_, err = e.guest.UpdateFeed(ctx, whisk.QName{Name: "T"}, map[string]any{"startDate": "2099-01-05T00:00:00Z", "stopDate": "2099-01-04T00:00:00Z"})
	assert.Equal(t, "stopDate parameter '2099-01-04T00:00:00Z' must be greater than the startDate parameter '2099-01-05T00:00:00Z'", feedError(t, err))

	_, err = e.guest.UpdateFeed(ctx, whisk.QName{Name: "T"}, map[string]any{"startDate": "2099-01-05T00:00:00Z", "strict": "true", "timezone": "Asia/Tokyo"})
	require.NoError(t, err)
	rr := e.readFeed(t, "T")
	assert.Equal(t, "2099-01-05T00:00:00Z", rr.Config.StartDate)
	assert.Equal(t, "2099-01-10T00:00:00Z", rr.Config.StopDate)
	assert.Equal(t, "true", rr.Config.Strict, "strict is echoed as given")
	assert.Equal(t, "Asia/Tokyo", rr.Config.Timezone)
	assert.Equal(t, "0 0 * * *", rr.Config.Cron)
}

func TestDeleteIdempotent(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{})
	ctx := t.Context()
	e.feedTrigger(t, "T", feedAlarm, map[string]any{"cron": "0 * * * *"}, "")
	require.Len(t, e.prov.Snapshot(), 1)

	for i := range 2 {
		act, err := e.guest.InvokeFeed(ctx, feedAlarm, whisk.FeedDelete, whisk.QName{Name: "T"}, nil)
		require.NoError(t, err, "DELETE #%d", i+1)
		assert.JSONEq(t, `{"status":"success"}`, string(act.Response.Result))
	}
	assert.Empty(t, e.prov.Snapshot())

	// the trigger is gone too: DELETE still succeeds (wsk's rollback and redeploys)
	_, err := e.guest.InvokeFeed(ctx, feedAlarm, whisk.FeedDelete, whisk.QName{Name: "never-created"}, nil)
	require.NoError(t, err)

	// the way wsk deletes: feed DELETE then trigger DELETE
	e.feedTrigger(t, "U", feedInterval, map[string]any{"minutes": 10}, "")
	require.NoError(t, e.guest.DeleteFeedTrigger(ctx, whisk.QName{Name: "U"}))
	assert.Empty(t, e.prov.Snapshot())
	_, err = e.guest.Trigger(ctx, whisk.QName{Name: "U"})
	assert.True(t, whisk.IsNotFound(err))

	t.Run("wrong key is refused", func(t *testing.T) {
		e.feedTrigger(t, "V", feedAlarm, map[string]any{"cron": "0 * * * *"}, "")
		sys, err := whisk.New(e.url, server.WhiskSystemAuthKey)
		require.NoError(t, err)
		// the feed acts on the caller's namespace: whisk.system has no trigger
		// V (a tolerated 404 for DELETE), and guest's record must stay
		_, err = sys.InvokeFeed(ctx, feedAlarm, whisk.FeedDelete, whisk.QName{Namespace: "guest", Name: "V"}, nil)
		require.NoError(t, err)
		_, ok := e.status("V")
		assert.True(t, ok, "another identity's DELETE must not remove guest's record")
	})
}

// firesProxy answers the provider's fires of some triggers with injected
// statuses and counts them. answers maps a trigger name to the status of
// its n-th fire (0 forwards the fire to the server).
type firesProxy struct {
	answers  map[string]func(n int64) int
	attempts map[string]*atomic.Int64
}

func newFiresProxy(answers map[string]func(n int64) int) *firesProxy {
	fp := &firesProxy{answers: answers, attempts: map[string]*atomic.Int64{}}
	for name := range answers {
		fp.attempts[name] = &atomic.Int64{}
	}
	return fp
}

func (f *firesProxy) front(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, name, _ := strings.Cut(r.URL.Path, "/triggers/")
		if answer, ok := f.answers[name]; ok && r.Method == http.MethodPost {
			if st := answer(f.attempts[name].Add(1)); st != 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(st)
				_, _ = w.Write([]byte(`{"error":"injected","code":"test"}`))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func TestFireRetries(t *testing.T) {
	t.Parallel()
	always := func(st int) func(int64) int { return func(int64) int { return st } }
	retried := []int{http.StatusRequestTimeout, http.StatusConflict, http.StatusInternalServerError, http.StatusServiceUnavailable}
	disabling := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge}
	answers := map[string]func(int64) int{
		"throttled-then-ok": func(n int64) int {
			if n <= 3 {
				return http.StatusTooManyRequests
			}
			return 0
		},
		"always-429": always(http.StatusTooManyRequests),
	}
	for _, code := range append(retried, disabling...) {
		answers["s"+strconv.Itoa(code)] = always(code)
	}
	fp := newFiresProxy(answers)
	rec := &recorder{}
	e := startEnv(t, envConfig{front: fp.front, builtins: map[string]*recorder{"rec": rec}})
	for name := range answers {
		action := ""
		if name == "throttled-then-ok" {
			action = "rec"
		}
		e.feedTrigger(t, name, feedAlarm, map[string]any{"cron": "* * * * * *", "trigger_payload": name}, action)
	}

	t.Run("429 retried then fired", func(t *testing.T) {
		rec.waitCount(t, 1)
		assert.Equal(t, map[string]any{"payload": "throttled-then-ok"}, rec.payloads()[0])
		assert.GreaterOrEqual(t, fp.attempts["throttled-then-ok"].Load(), int64(4))
		st, ok := e.status("throttled-then-ok")
		require.True(t, ok)
		assert.True(t, st.Active)
	})
	t.Run("always 429 disables after ten retries", func(t *testing.T) {
		st := e.waitDisabled(t, "always-429")
		require.NotNil(t, st.Reason)
		assert.Equal(t, alarms.Reason{Kind: "AUTO", StatusCode: 429,
			Message: "Automatically disabled after continuously receiving a 429 status code when firing the trigger"}, *st.Reason)
		assert.Equal(t, int64(11), fp.attempts["always-429"].Load(), "one attempt and ten retries, no overlapping tick")
	})
	for _, code := range retried {
		t.Run(strconv.Itoa(code)+" retried, never disables", func(t *testing.T) {
			n := fp.attempts["s"+strconv.Itoa(code)]
			require.Eventually(t, func() bool { return n.Load() >= 2*11 }, waitFor, tick, "two ticks of eleven attempts each")
			st, ok := e.status("s" + strconv.Itoa(code))
			require.True(t, ok)
			assert.True(t, st.Active)
		})
	}
	for _, code := range disabling {
		t.Run(strconv.Itoa(code)+" disables at once", func(t *testing.T) {
			st := e.waitDisabled(t, "s"+strconv.Itoa(code))
			require.NotNil(t, st.Reason)
			assert.Equal(t, alarms.Reason{Kind: "AUTO", StatusCode: code,
				Message: "Trigger automatically disabled: Received a " + strconv.Itoa(code) + " status code when firing the trigger"}, *st.Reason)
			assert.Equal(t, int64(1), fp.attempts["s"+strconv.Itoa(code)].Load())
		})
	}
}

func TestOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		deleteAfterFire any // nil: not given
		triggerDeleted  bool
		ruleDeleted     bool
	}{
		{"true", true, true, false},
		{"rules", "rules", true, true},
		{"false", "false", false, false},
		{"absent", nil, false, false},
	}
	recs := map[string]*recorder{}
	for _, tc := range tests {
		recs["rec-"+tc.name] = &recorder{}
	}
	e := startEnv(t, envConfig{builtins: recs})
	ctx := t.Context()
	for _, tc := range tests {
		params := map[string]any{"date": iso(1500 * time.Millisecond), "trigger_payload": map[string]any{"once": tc.name}}
		if tc.deleteAfterFire != nil {
			params["deleteAfterFire"] = tc.deleteAfterFire
		}
		e.feedTrigger(t, tc.name, feedOnce, params, "rec-"+tc.name)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := recs["rec-"+tc.name]
			rec.waitCount(t, 1)
			assert.Equal(t, []map[string]any{{"once": tc.name}}, rec.payloads())
			trigger, rule := whisk.QName{Name: tc.name}, whisk.QName{Name: tc.name + "-rule"}
			if !tc.triggerDeleted {
				st := e.waitDisabled(t, tc.name)
				require.NotNil(t, st.Reason)
				assert.Equal(t, alarms.Reason{Kind: "AUTO", Message: "Automatically disabled after firing once"}, *st.Reason)
				_, err := e.guest.Trigger(ctx, trigger)
				assert.NoError(t, err, "the trigger is kept")
				assert.Equal(t, 1, rec.count())
				return
			}
			require.Eventually(t, func() bool {
				_, err := e.guest.Trigger(ctx, trigger)
				return whisk.IsNotFound(err)
			}, waitFor, tick, "trigger deleted after firing")
			require.Eventually(t, func() bool {
				_, ok := e.status(tc.name)
				return !ok
			}, waitFor, tick, "record deleted")
			if tc.ruleDeleted {
				require.Eventually(t, func() bool {
					_, err := e.guest.Rule(ctx, rule)
					return whisk.IsNotFound(err)
				}, waitFor, tick, "rule deleted after firing")
			} else {
				_, err := e.guest.Rule(ctx, rule)
				assert.NoError(t, err, "the rule is kept")
			}
		})
	}
}

func TestIntervalAndStopDates(t *testing.T) {
	t.Parallel()
	recs := map[string]*recorder{"ri": {}, "rc": {}, "rm": {}}
	e := startEnv(t, envConfig{builtins: recs})
	e.feedTrigger(t, "interval", feedInterval,
		map[string]any{"minutes": 1, "startDate": millis(time.Second), "stopDate": millis(4 * time.Second), "trigger_payload": "i"}, "ri")
	e.feedTrigger(t, "cron", feedAlarm,
		map[string]any{"cron": "* * * * * *", "stopDate": iso(2500 * time.Millisecond), "trigger_payload": "c"}, "rc")
	e.feedTrigger(t, "max", feedAlarm,
		map[string]any{"cron": "* * * * * *", "maxTriggers": 2, "trigger_payload": "m"}, "rm")

	tests := []struct {
		trigger string
		rec     string
		message string
	}{
		{"interval", "ri", "Automatically disabled after firing last scheduled interval trigger"},
		{"cron", "rc", "Automatically disabled after firing last scheduled cron trigger"},
		{"max", "rm", "Automatically disabled after reaching max triggers"},
	}
	for _, tc := range tests {
		t.Run(tc.trigger, func(t *testing.T) {
			st := e.waitDisabled(t, tc.trigger)
			require.NotNil(t, st.Reason)
			assert.Equal(t, alarms.Reason{Kind: "AUTO", Message: tc.message}, *st.Reason)
			r := recs[tc.rec]
			r.waitCount(t, 1)
			for _, p := range r.payloads() {
				assert.Equal(t, map[string]any{"payload": tc.trigger[:1]}, p)
			}
		})
	}
	assert.Equal(t, 1, recs["ri"].count(), "the interval fired at its startDate only")
	assert.Equal(t, 2, recs["rm"].count(), "maxTriggers fires")
}

func TestPersistence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := &recorder{}
	e1 := startEnv(t, envConfig{dataDir: dir, builtins: map[string]*recorder{"rec": first}})
	ctx := t.Context()
	e1.feedTrigger(t, "tick", feedAlarm, map[string]any{"cron": "* * * * * *", "trigger_payload": map[string]any{"n": 1}}, "rec")
	e1.feedTrigger(t, "later", feedInterval, map[string]any{"minutes": 60, "startDate": iso(time.Hour)}, "")
	first.waitCount(t, 1)
	require.NoError(t, e1.guest.DeleteTrigger(ctx, whisk.QName{Name: "later"}))
	want := e1.readFeed(t, "tick")
	require.NoError(t, e1.prov.Close())

	files, err := os.ReadDir(filepath.Join(dir, "alarms"))
	require.NoError(t, err)
	assert.Len(t, files, 2)
	guestUUID, _, _ := strings.Cut(server.GuestAuthKey, ":")
	for _, f := range files {
		assert.NotContains(t, f.Name(), guestUUID, "file names do not reveal auth keys")
	}

	second := &recorder{}
	e2 := startEnv(t, envConfig{dataDir: dir, builtins: map[string]*recorder{"rec": second}})
	second.waitCount(t, 1)
	assert.Equal(t, map[string]any{"n": float64(1)}, second.payloads()[0])
	got := e2.readFeed(t, "tick")
	assert.Equal(t, want.Config, got.Config)

	st := e2.waitDisabled(t, "later")
	require.NotNil(t, st.Reason)
	assert.Equal(t, alarms.Reason{Kind: "AUTO", StatusCode: 404,
		Message: "Automatically disabled after receiving a 404 status code on trigger initialization"}, *st.Reason)
}

// TestCloseStopsEverything is not parallel so that no other provider runs
// while it counts goroutines.
func TestCloseStopsEverything(t *testing.T) {
	var attempts atomic.Int64
	release := make(chan struct{})
	hang := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				attempts.Add(1)
				_, _ = io.Copy(io.Discard, r.Body)
				select { // a fire that does not answer
				case <-r.Context().Done():
				case <-release:
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := startEnv(t, envConfig{front: hang})
	t.Cleanup(func() { close(release) }) // runs before the servers close
	e.feedTrigger(t, "T", feedAlarm, map[string]any{"cron": "* * * * * *"}, "")
	require.Eventually(t, func() bool { return attempts.Load() >= 1 }, waitFor, tick)
	require.Positive(t, providerGoroutines())

	require.NoError(t, e.prov.Close())
	assert.Zero(t, providerGoroutines(), "Close waits for the scheduler and the fires in flight")
	require.NoError(t, e.prov.Close(), "Close is idempotent")
}

func providerGoroutines() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "localwhisk/alarms.(*Provider)")
}
