package whisk_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

const feedRoute = "POST /api/v1/namespaces/_/actions/feeds/changes"

// feedAction answers feed invocations with the handler chosen per
// lifecycleEvent (success when none is given).
func feedAction(byEvent map[string]http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		event, _ := body["lifecycleEvent"].(string)
		if h, ok := byEvent[event]; ok {
			h(w, r)
			return
		}
		reply(http.StatusOK, activation(actID, whisk.StatusSuccess, map[string]any{"event": event}))(w, r)
	}
}

var (
	feedName   = whisk.MustParseQName("feeds/changes")
	feedParams = map[string]any{"bucket": "b", "interval": 5}
)

func TestCreateFeedTrigger(t *testing.T) {
	f := newFake(t)
	store := f.triggers()
	f.on(feedRoute, feedAction(nil))
	c := f.client(t)

	act, err := c.CreateFeedTrigger(t.Context(), whisk.QName{Name: "uploads"}, feedName, feedParams,
		whisk.KeyValue{Key: "description", Value: "bucket b"})
	require.NoError(t, err)
	assert.Equal(t, actID, act.ActivationID)
	assert.True(t, store.has("uploads"))

	assert.Equal(t, []string{
		"PUT /api/v1/namespaces/_/triggers/uploads?overwrite=false",
		"POST /api/v1/namespaces/_/actions/feeds/changes?blocking=true&result=false",
	}, f.lines())
	reqs := f.requests()
	assert.JSONEq(t, `{"name":"uploads","publish":false,"annotations":[
		{"key":"description","value":"bucket b"},
		{"key":"feed","value":"/_/feeds/changes"}]}`, string(reqs[0].Body),
		"the feed annotation is stored as wsk writes it; params are not stored on the trigger")
	assert.Equal(t, map[string]any{
		"bucket": "b", "interval": float64(5),
		"lifecycleEvent": "CREATE", "triggerName": "/_/uploads", "authKey": testKey,
	}, reqs[1].bodyMap(t))
}

func TestCreateFeedTriggerRollsBack(t *testing.T) {
	tests := []struct {
		name      string
		create    http.HandlerFunc
		check     func(t *testing.T, err error)
		deleteErr bool // the feed's DELETE fails too (ignored)
	}{
		{
			name:   "application error",
			create: reply(http.StatusBadGateway, activation(actID, whisk.StatusApplicationError, map[string]any{"error": "bucket b is not reachable"})),
			check: func(t *testing.T, err error) {
				var actErr *whisk.ActionError
				require.ErrorAs(t, err, &actErr)
				assert.Equal(t, "bucket b is not reachable", actErr.Message())
				assert.Equal(t, http.StatusBadGateway, whisk.HTTPStatus(err))
			},
		},
		{
			name:      "application error, delete fails too",
			create:    reply(http.StatusBadGateway, activation(actID, whisk.StatusApplicationError, map[string]any{"error": "bad cron"})),
			deleteErr: true,
			check: func(t *testing.T, err error) {
				var actErr *whisk.ActionError
				require.ErrorAs(t, err, &actErr)
				assert.Equal(t, "bad cron", actErr.Message(), "the CREATE error is returned, not the DELETE one")
			},
		},
		{
			name:   "still running after the wait",
			create: reply(http.StatusAccepted, map[string]any{"activationId": actID}),
			check: func(t *testing.T, err error) {
				var pending *whisk.PendingError
				require.ErrorAs(t, err, &pending)
				assert.Equal(t, actID, pending.ActivationID)
			},
		},
		{
			name:   "feed action missing",
			create: apiError(http.StatusNotFound, "The requested resource does not exist."),
			check: func(t *testing.T, err error) {
				assert.True(t, whisk.IsNotFound(err))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			store := f.triggers()
			byEvent := map[string]http.HandlerFunc{"CREATE": tc.create}
			if tc.deleteErr {
				byEvent["DELETE"] = reply(http.StatusBadGateway, activation(actID, whisk.StatusApplicationError, map[string]any{"error": "no such record"}))
			}
			f.on(feedRoute, feedAction(byEvent))

			_, err := f.client(t).CreateFeedTrigger(t.Context(), whisk.QName{Name: "uploads"}, feedName, feedParams)
			require.Error(t, err)
			tc.check(t, err)

			assert.Equal(t, []string{
				"PUT /api/v1/namespaces/_/triggers/uploads?overwrite=false",
				"POST /api/v1/namespaces/_/actions/feeds/changes?blocking=true&result=false",
				"GET /api/v1/namespaces/_/triggers/uploads",
				"POST /api/v1/namespaces/_/actions/feeds/changes?blocking=true&result=false",
				"DELETE /api/v1/namespaces/_/triggers/uploads",
			}, f.lines())
			assert.False(t, store.has("uploads"), "trigger deleted")
			reqs := f.requests()
			require.Len(t, reqs, 5)
			assert.Equal(t, "CREATE", reqs[1].bodyMap(t)["lifecycleEvent"])
			assert.Equal(t, map[string]any{
				"bucket": "b", "interval": float64(5),
				"lifecycleEvent": "DELETE", "triggerName": "/_/uploads", "authKey": testKey,
			}, reqs[3].bodyMap(t), "wsk's rollback DELETE still carries the CREATE params")
		})
	}
}

func TestCreateFeedTriggerExisting(t *testing.T) {
	f := newFake(t)
	f.triggers()
	f.on(feedRoute, feedAction(nil))
	c := f.client(t)
	_, err := c.PutTrigger(t.Context(), whisk.QName{Name: "uploads"}, whisk.Trigger{}, whisk.CreateOnly)
	require.NoError(t, err)

	_, err = c.CreateFeedTrigger(t.Context(), whisk.QName{Name: "uploads"}, feedName, feedParams)
	assert.True(t, whisk.IsConflict(err))
	assert.Equal(t, []string{
		"PUT /api/v1/namespaces/_/triggers/uploads?overwrite=false",
		"PUT /api/v1/namespaces/_/triggers/uploads?overwrite=false",
	}, f.lines(), "the feed is not called and nothing is deleted")
}

func TestFeedLifecycleAfterCreate(t *testing.T) {
	f := newFake(t)
	store := f.triggers()
	f.on(feedRoute, feedAction(map[string]http.HandlerFunc{
		"DELETE": reply(http.StatusBadGateway, activation(actID, whisk.StatusApplicationError, map[string]any{"error": "provider down"})),
	}))
	c := f.client(t)
	ctx := t.Context()
	_, err := c.CreateFeedTrigger(ctx, whisk.QName{Name: "t"}, whisk.MustParseQName("/_/feeds/changes"), feedParams)
	require.NoError(t, err)
	start := len(f.requests())

	read, err := c.ReadFeed(ctx, whisk.QName{Name: "t"})
	require.NoError(t, err)
	var res map[string]any
	require.NoError(t, read.Response.Decode(&res))
	assert.Equal(t, "READ", res["event"])

	_, err = c.UpdateFeed(ctx, whisk.QName{Name: "t"}, map[string]any{"interval": 10})
	require.NoError(t, err)

	require.NoError(t, c.DeleteFeedTrigger(ctx, whisk.QName{Name: "t"}), "the feed's DELETE failure is ignored")
	assert.False(t, store.has("t"))

	reqs := f.requests()[start:]
	var got []string
	for _, r := range reqs {
		got = append(got, r.line())
	}
	assert.Equal(t, []string{
		"GET /api/v1/namespaces/_/triggers/t",
		"POST /api/v1/namespaces/_/actions/feeds/changes?blocking=true&result=false",
		"GET /api/v1/namespaces/_/triggers/t",
		"POST /api/v1/namespaces/_/actions/feeds/changes?blocking=true&result=false",
		"GET /api/v1/namespaces/_/triggers/t",
		"POST /api/v1/namespaces/_/actions/feeds/changes?blocking=true&result=false",
		"DELETE /api/v1/namespaces/_/triggers/t",
	}, got, "update writes no trigger")
	base := map[string]any{"triggerName": "/_/t", "authKey": testKey}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	assert.Equal(t, with(map[string]any{"lifecycleEvent": "READ"}), reqs[1].bodyMap(t))
	assert.Equal(t, with(map[string]any{"lifecycleEvent": "UPDATE", "interval": float64(10)}), reqs[3].bodyMap(t), "only the given params")
	assert.Equal(t, with(map[string]any{"lifecycleEvent": "DELETE"}), reqs[5].bodyMap(t), "delete sends no user params")
}

func TestFeedCallsOnPlainTrigger(t *testing.T) {
	f := newFake(t)
	store := f.triggers()
	c := f.client(t)
	ctx := t.Context()
	_, err := c.PutTrigger(ctx, whisk.QName{Name: "plain"}, whisk.Trigger{}, whisk.CreateOnly)
	require.NoError(t, err)

	_, err = c.ReadFeed(ctx, whisk.QName{Name: "plain"})
	require.ErrorIs(t, err, whisk.ErrNotFeedTrigger)
	_, err = c.UpdateFeed(ctx, whisk.QName{Name: "plain"}, map[string]any{"x": 1})
	require.ErrorIs(t, err, whisk.ErrNotFeedTrigger)
	require.NoError(t, c.DeleteFeedTrigger(ctx, whisk.QName{Name: "plain"}))
	assert.False(t, store.has("plain"))

	err = c.DeleteFeedTrigger(ctx, whisk.QName{Name: "plain"})
	assert.True(t, whisk.IsNotFound(err))
	for _, l := range f.lines() {
		assert.NotContains(t, l, "/actions/", "no feed was invoked")
	}
}

func TestInvokeFeedQualifiesNames(t *testing.T) {
	f := newFake(t)
	f.on("POST /api/v1/namespaces/whisk.system/actions/s3-trigger-feed/changes", feedAction(nil))
	c := f.client(t, whisk.WithNamespace("guest"))

	_, err := c.InvokeFeed(t.Context(), whisk.MustParseQName("/whisk.system/s3-trigger-feed/changes"), whisk.FeedRead,
		whisk.QName{Name: "uploads"}, map[string]any{"triggerName": "overridden", "extra": true})
	require.NoError(t, err)
	reqs := f.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, map[string]any{
		"lifecycleEvent": "READ", "triggerName": "/guest/uploads", "authKey": testKey, "extra": true,
	}, reqs[0].bodyMap(t))
}
