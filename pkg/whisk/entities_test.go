package whisk_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

func TestPutAndGetAction(t *testing.T) {
	f := newFake(t)
	stored := map[string]any{
		"namespace": "guest/s3", "name": "poll", "version": "0.0.2", "publish": false,
		"exec":        map[string]any{"kind": "go:1.22", "binary": true},
		"limits":      map[string]any{"timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1},
		"parameters":  []map[string]any{{"key": "couchUrl", "value": "http://couch"}, {"key": "secret", "value": "k", "init": true}},
		"annotations": []map[string]any{{"key": "exec", "value": "go:1.22"}, {"key": "provide-api-key", "value": true}},
		"updated":     1700000000000,
	}
	f.on("PUT /api/v1/namespaces/_/actions/s3/poll", reply(http.StatusOK, stored))
	f.on("GET /api/v1/namespaces/_/actions/s3/poll", reply(http.StatusOK, stored))
	f.on("DELETE /api/v1/namespaces/_/actions/s3/poll", reply(http.StatusOK, stored))
	c := f.client(t)
	name := whisk.MustParseQName("s3/poll")

	_, err := c.PutAction(t.Context(), name, whisk.Action{
		Name: "ignored", Namespace: "ignored",
		Exec:        &whisk.Exec{Kind: "go:1.22", Code: "UEsDBA==", Binary: true, Main: "main"},
		Limits:      &whisk.Limits{Timeout: 60000, Memory: 256},
		Parameters:  whisk.KeyValues{{Key: "secret", Value: "k", Init: true}},
		Annotations: whisk.KeyValues{{Key: "provide-api-key", Value: true}},
	}, whisk.Overwrite)
	require.NoError(t, err)
	a, err := c.Action(t.Context(), name, false)
	require.NoError(t, err)
	require.NoError(t, c.DeleteAction(t.Context(), name))

	reqs := f.requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, "DELETE /api/v1/namespaces/_/actions/s3/poll", reqs[2].line())
	assert.Equal(t, "true", reqs[0].Query.Get("overwrite"))
	assert.JSONEq(t, `{
		"publish": false,
		"exec": {"kind": "go:1.22", "code": "UEsDBA==", "binary": true, "main": "main"},
		"limits": {"timeout": 60000, "memory": 256},
		"parameters": [{"key": "secret", "value": "k", "init": true}],
		"annotations": [{"key": "provide-api-key", "value": true}]
	}`, string(reqs[0].Body))
	assert.Equal(t, "false", reqs[1].Query.Get("code"))

	assert.Equal(t, whisk.MustParseQName("/guest/s3/poll"), a.QName())
	assert.Equal(t, "0.0.2", a.Version)
	assert.Equal(t, &whisk.Limits{Timeout: 60000, Memory: 256, Logs: 10, Concurrency: 1}, a.Limits)
	assert.True(t, a.Exec.Binary)
	assert.Equal(t, whisk.KeyValue{Key: "secret", Value: "k", Init: true}, a.Parameters[1])
	pak, _ := a.Annotations.LookupBool("provide-api-key")
	assert.True(t, pak)
	assert.Equal(t, int64(1700000000000), a.Updated)
}

func TestPackages(t *testing.T) {
	f := newFake(t)
	f.on("PUT /api/v1/namespaces/_/packages/myalarms", reply(http.StatusOK, map[string]any{
		"namespace": "guest", "name": "myalarms", "binding": map[string]any{"namespace": "whisk.system", "name": "alarms"},
	}))
	f.on("GET /api/v1/namespaces/_/packages/s3", reply(http.StatusOK, map[string]any{
		"namespace": "guest", "name": "s3", "publish": true, "binding": map[string]any{},
		"actions": []map[string]any{{"name": "poll", "version": "0.0.1"}},
		"feeds":   []map[string]any{{"name": "changes", "version": "0.0.1", "annotations": []map[string]any{{"key": "feed", "value": true}}}},
	}))
	f.on("DELETE /api/v1/namespaces/_/packages/s3", reply(http.StatusOK, map[string]any{"name": "s3"}))
	c := f.client(t)

	b, err := c.PutPackage(t.Context(), whisk.QName{Name: "myalarms"}, whisk.Package{
		Binding:    whisk.Binding{Namespace: "whisk.system", Name: "alarms"},
		Parameters: whisk.FromMap(map[string]any{"trigger_payload": ""}),
	}, whisk.Overwrite)
	require.NoError(t, err)
	assert.True(t, b.IsBinding())

	p, err := c.Package(t.Context(), whisk.QName{Name: "s3"})
	require.NoError(t, err)
	assert.False(t, p.IsBinding())
	assert.True(t, p.Publish)
	require.Len(t, p.Feeds, 1)
	assert.Equal(t, "changes", p.Feeds[0].Name)

	require.NoError(t, c.DeletePackage(t.Context(), whisk.QName{Name: "s3"}, true))

	reqs := f.requests()
	require.Len(t, reqs, 3)
	assert.JSONEq(t, `{"publish":false,"binding":{"namespace":"whisk.system","name":"alarms"},
		"parameters":[{"key":"trigger_payload","value":""}]}`, string(reqs[0].Body))
	assert.Equal(t, "true", reqs[2].Query.Get("force"))

	_, err = c.Package(t.Context(), whisk.MustParseQName("s3/poll"))
	require.Error(t, err, "a package name cannot be inside a package")
	assert.Len(t, f.requests(), 3)
}

func TestRules(t *testing.T) {
	f := newFake(t)
	ruleDoc := map[string]any{
		"namespace": "guest", "name": "r", "status": "active", "version": "0.0.1", "publish": false,
		"trigger": map[string]any{"path": "guest", "name": "t"},
		"action":  map[string]any{"path": "guest/s3", "name": "poll"},
	}
	f.on("PUT /api/v1/namespaces/_/rules/r", reply(http.StatusOK, ruleDoc))
	f.on("GET /api/v1/namespaces/_/rules/r", reply(http.StatusOK, ruleDoc))
	f.on("POST /api/v1/namespaces/_/rules/r", reply(http.StatusOK, ruleDoc))
	f.on("DELETE /api/v1/namespaces/_/rules/r", reply(http.StatusOK, ruleDoc))
	f.on("GET /api/v1/namespaces/_/rules", reply(http.StatusOK, []map[string]any{ruleDoc}))
	c := f.client(t)
	ctx := t.Context()
	r := whisk.QName{Name: "r"}

	got, err := c.PutRule(ctx, r, whisk.QName{Name: "t"}, whisk.MustParseQName("s3/poll"), whisk.CreateOnly)
	require.NoError(t, err)
	assert.Equal(t, whisk.RuleActive, got.Status)
	assert.Equal(t, whisk.MustParseQName("/guest/t"), got.Trigger.QName())
	assert.Equal(t, whisk.MustParseQName("/guest/s3/poll"), got.Action.QName())
	require.NoError(t, c.SetRuleStatus(ctx, r, whisk.RuleInactive))
	require.Error(t, c.SetRuleStatus(ctx, r, "paused"))
	_, err = c.Rule(ctx, r)
	require.NoError(t, err)
	list, err := c.Rules(ctx, "", whisk.ListOptions{Limit: 50})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NoError(t, c.DeleteRule(ctx, r))

	assert.Equal(t, []string{
		"PUT /api/v1/namespaces/_/rules/r?overwrite=false",
		"POST /api/v1/namespaces/_/rules/r",
		"GET /api/v1/namespaces/_/rules/r",
		"GET /api/v1/namespaces/_/rules?limit=50",
		"DELETE /api/v1/namespaces/_/rules/r",
	}, f.lines())
	reqs := f.requests()
	assert.JSONEq(t, `{"name":"r","trigger":"/_/t","action":"/_/s3/poll","publish":false}`, string(reqs[0].Body))
	assert.JSONEq(t, `{"status":"inactive"}`, string(reqs[1].Body))
}

func TestActivationListQuery(t *testing.T) {
	since := time.UnixMilli(1700000000000)
	tests := []struct {
		name  string
		q     whisk.ActivationQuery
		want  url.Values
		isErr bool
	}{
		{"no filter", whisk.ActivationQuery{}, url.Values{}, false},
		{"paged", whisk.ActivationQuery{ListOptions: whisk.ListOptions{Limit: 30, Skip: 60}}, url.Values{"limit": {"30"}, "skip": {"60"}}, false},
		{"by name with docs", whisk.ActivationQuery{Name: "s3/poll", Docs: true}, url.Values{"name": {"s3/poll"}, "docs": {"true"}}, false},
		{"time window", whisk.ActivationQuery{Since: since, Upto: since.Add(time.Minute)}, url.Values{"since": {"1700000000000"}, "upto": {"1700000060000"}}, false},
		{"limit too large", whisk.ActivationQuery{ListOptions: whisk.ListOptions{Limit: 201}}, nil, true},
		{"negative skip", whisk.ActivationQuery{ListOptions: whisk.ListOptions{Skip: -1}}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.on("GET /api/v1/namespaces/_/activations", reply(http.StatusOK, []map[string]any{
				{"namespace": "guest", "name": "poll", "activationId": actID, "start": 1700000000000, "statusCode": 0},
			}))
			list, err := f.client(t).Activations(t.Context(), tc.q)
			if tc.isErr {
				require.Error(t, err)
				assert.Empty(t, f.requests(), "bad options are rejected before any request")
				return
			}
			require.NoError(t, err)
			require.Len(t, list, 1)
			assert.Equal(t, actID, list[0].ActivationID)
			reqs := f.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tc.want, reqs[0].Query)
		})
	}
}

func TestActivationSubresources(t *testing.T) {
	f := newFake(t)
	base := "GET /api/v1/namespaces/_/activations/" + actID
	f.on(base, reply(http.StatusOK, activation(actID, whisk.StatusSuccess, map[string]any{"ok": true})))
	f.on(base+"/logs", reply(http.StatusOK, map[string]any{"logs": []string{
		"2024-01-01T00:00:00.000000000Z stdout: hello",
	}}))
	f.on(base+"/result", reply(http.StatusOK, map[string]any{"status": "success", "success": true, "result": map[string]any{"ok": true}}))
	c := f.client(t)

	a, err := c.Activation(t.Context(), actID)
	require.NoError(t, err)
	assert.Equal(t, actID, a.ActivationID)
	logs, err := c.ActivationLogs(t.Context(), actID)
	require.NoError(t, err)
	assert.Equal(t, []string{"2024-01-01T00:00:00.000000000Z stdout: hello"}, logs)
	res, err := c.ActivationResult(t.Context(), actID)
	require.NoError(t, err)
	assert.True(t, res.Success)
	assert.JSONEq(t, `{"ok":true}`, string(res.Result))

	_, err = c.Activation(t.Context(), "")
	require.Error(t, err)
	assert.Len(t, f.requests(), 3)
}

func TestNamespace(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/namespaces", reply(http.StatusOK, []string{"guest"}))

	c := f.client(t)
	for range 2 {
		ns, err := c.Namespace(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "guest", ns)
	}
	assert.Len(t, f.requests(), 1, "the answer is remembered")

	ns, err := f.client(t, whisk.WithNamespace("provider")).Namespace(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "provider", ns)
	assert.Len(t, f.requests(), 1, "a configured namespace needs no request")
}

func TestWebActionURL(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/namespaces", reply(http.StatusOK, []string{"guest"}))
	c := f.client(t)
	tests := []struct {
		action, ext, want string
	}{
		{"s3-web/lifecycle", "", "/api/v1/web/guest/s3-web/lifecycle.json"},
		{"hello", "json", "/api/v1/web/guest/default/hello.json"},
		{"/whisk.system/s3-web/hook", "http", "/api/v1/web/whisk.system/s3-web/hook.http"},
		{"/_/p/a b", ".json", "/api/v1/web/guest/p/a%20b.json"},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			got, err := c.WebActionURL(t.Context(), whisk.MustParseQName(tc.action), tc.ext)
			require.NoError(t, err)
			assert.Equal(t, f.srv.URL+tc.want, got)
		})
	}
	_, err := c.WebActionURL(t.Context(), whisk.QName{Name: "a"}, "xml")
	require.Error(t, err)
}

func TestTriggersList(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/namespaces/whisk.system/triggers", reply(http.StatusOK, []map[string]any{
		{"namespace": "whisk.system", "name": "a", "version": "0.0.1", "publish": false},
		{"namespace": "whisk.system", "name": "b", "version": "0.0.2", "publish": false},
	}))
	c := f.client(t)
	list, err := c.Triggers(t.Context(), "whisk.system", whisk.ListOptions{Limit: 200, Skip: 200})
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "b", list[1].Name)
	assert.Equal(t, []string{"GET /api/v1/namespaces/whisk.system/triggers?limit=200&skip=200"}, f.lines())
	_, err = c.Triggers(t.Context(), "", whisk.ListOptions{Limit: 201})
	require.Error(t, err, "a limit over 200 is refused before any request")
}
