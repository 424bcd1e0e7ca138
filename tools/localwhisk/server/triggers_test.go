package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

const trigPath = "/api/v1/namespaces/_/triggers/"

func TestTriggerCRUD(t *testing.T) {
	e := newEnv(t)
	tr := e.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{
		"name": "t", "parameters": []any{kv("a", 1)}, "annotations": []any{kv("feed", "/_/alarms/alarm")},
	}).obj(t)
	assert.Equal(t, "guest", tr["namespace"])
	assert.Equal(t, map[string]any{}, tr["limits"])
	assert.NotContains(t, tr, "rules")
	feed, _ := annotation(tr["annotations"], "feed")
	assert.Equal(t, "/_/alarms/alarm", feed, "the feed annotation is stored verbatim")

	r := e.must(http.StatusConflict, http.MethodPut, trigPath+"t", guest, map[string]any{})
	assert.Equal(t, "resource already exists", r.errMsg(t))

	up := e.must(http.StatusOK, http.MethodPut, trigPath+"t?overwrite=true", guest, map[string]any{"parameters": []any{kv("b", 2)}}).obj(t)
	assert.Equal(t, "0.0.2", up["version"])
	assert.Equal(t, []any{kv("b", 2.0)}, up["parameters"])
	feed, _ = annotation(up["annotations"], "feed")
	assert.Equal(t, "/_/alarms/alarm", feed, "annotations kept when absent")

	list := e.must(http.StatusOK, http.MethodGet, trigPath, guest, nil).list(t)
	require.Len(t, list, 1)
	assert.NotContains(t, list[0], "parameters")

	for _, bad := range []any{"not a path//", 5} {
		r := e.must(http.StatusBadRequest, http.MethodPut, trigPath+"bad", guest, map[string]any{"annotations": []any{kv("feed", bad)}})
		assert.Equal(t, "Feed name is not valid", r.errMsg(t))
	}

	e.must(http.StatusOK, http.MethodDelete, trigPath+"t", guest, nil)
	e.must(http.StatusNotFound, http.MethodGet, trigPath+"t", guest, nil)

	r = e.must(http.StatusForbidden, http.MethodGet, "/api/v1/namespaces/whisk.system/triggers/t", guest, nil)
	assert.Equal(t, "The supplied authentication is not authorized to access 'whisk.system/t'.", r.errMsg(t))
}

func TestFireWithoutTriggerOrRule(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusNotFound, http.MethodPost, trigPath+"nope", guest, map[string]any{})
	e.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{})
	r := e.must(http.StatusNoContent, http.MethodPost, trigPath+"t", guest, map[string]any{"x": 1})
	assert.Empty(t, r.body)
	assert.Empty(t, r.header.Get("x-openwhisk-activation-id"))
	list := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/activations", guest, nil).list(t)
	assert.Empty(t, list, "no trigger activation without an active rule")

	// an inactive rule does not count either
	e.createAction(guest, "_", "a", nil)
	e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/rules/r", guest, map[string]any{"trigger": "/_/t", "action": "/_/a"})
	e.must(http.StatusOK, http.MethodPost, "/api/v1/namespaces/_/rules/r", guest, map[string]any{"status": "inactive"})
	e.must(http.StatusNoContent, http.MethodPost, trigPath+"t", guest, nil)
}

func TestFireInvokesActiveRules(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "a1", map[string]any{"parameters": []any{kv("fromAction", true), kv("shared", "action")}})
	e.createAction(guest, "_", "a2", nil)
	e.createAction(guest, "_", "a3", nil)
	e.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{"parameters": []any{kv("fromTrigger", 1), kv("shared", "trigger"), kv("p", "trigger")}})
	for _, r := range []struct{ name, action string }{{"r1", "a1"}, {"r2", "a2"}, {"r3", "a3"}} {
		e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/rules/"+r.name, guest, map[string]any{"trigger": "/_/t", "action": "/_/" + r.action})
	}
	e.must(http.StatusOK, http.MethodPost, "/api/v1/namespaces/_/rules/r2", guest, map[string]any{"status": "inactive"})
	e.must(http.StatusOK, http.MethodDelete, "/api/v1/namespaces/_/actions/a3", guest, nil)

	r := e.do(http.MethodPost, trigPath+"t", guest, map[string]any{"p": "fire"}, "X-Custom", "hdr")
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	id := r.obj(t)["activationId"].(string)
	assert.Equal(t, id, r.header.Get("x-openwhisk-activation-id"))

	ta := e.activation(guest, "guest", id)
	assert.Equal(t, "t", ta["name"])
	assert.NotContains(t, ta, "end")
	assert.NotContains(t, ta, "duration")
	assert.Equal(t, map[string]any{"p": "fire"}, ta["response"].(map[string]any)["result"])
	logs := ta["logs"].([]any)
	require.Len(t, logs, 3)
	var results []map[string]any
	for _, l := range logs {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l.(string)), &m))
		results = append(results, m)
	}
	assert.Equal(t, "guest/r1", results[0]["rule"])
	assert.Equal(t, "guest/a1", results[0]["action"])
	assert.EqualValues(t, 0, results[0]["statusCode"])
	assert.Equal(t, true, results[0]["success"])
	assert.Equal(t, map[string]any{"rule": "guest/r2", "action": "guest/a2", "statusCode": 1.0, "success": false,
		"error": "Rule 'guest/r2' is inactive, action 'guest/a2' was not activated."}, results[1])
	assert.Equal(t, map[string]any{"rule": "guest/r3", "action": "guest/a3", "statusCode": 1.0, "success": false,
		"error": "The requested resource does not exist."}, results[2])

	// the rule's action got trigger params < (__ow_headers ∪ fire payload), then its own below them
	act := e.activation(guest, "guest", results[0]["activationId"].(string))
	params := act["response"].(map[string]any)["result"].(map[string]any)["params"].(map[string]any)
	assert.Equal(t, true, params["fromAction"])
	assert.EqualValues(t, 1, params["fromTrigger"])
	assert.Equal(t, "trigger", params["shared"], "invocation payload wins over action parameters")
	assert.Equal(t, "fire", params["p"])
	headers := params["__ow_headers"].(map[string]any)
	assert.Equal(t, "hdr", headers["x-custom"])
	assert.Equal(t, "application/json", headers["content-type"])
}

func TestFireRunsRuleActionsAsTriggerOwner(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, pkgPath+"pub", sys, map[string]any{"publish": true})
	e.createAction(sys, "_", "pub/echo", map[string]any{"annotations": []any{kv("provide-api-key", true)}})
	e.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{})
	e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/rules/r", guest, map[string]any{"trigger": "/_/t", "action": "/whisk.system/pub/echo"})
	id := e.must(http.StatusAccepted, http.MethodPost, trigPath+"t", guest, nil).obj(t)["activationId"].(string)
	var aid string
	require.Eventually(t, func() bool {
		r := e.do(http.MethodGet, "/api/v1/namespaces/_/activations/"+id+"/logs", guest, nil)
		if r.status != http.StatusOK {
			return false
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(r.obj(t)["logs"].([]any)[0].(string)), &m)
		aid, _ = m["activationId"].(string)
		return true
	}, 10*time.Second, 10*time.Millisecond)
	require.NotEmpty(t, aid)
	act := e.activation(guest, "guest", aid)
	envs := act["response"].(map[string]any)["result"].(map[string]any)["env"].(map[string]any)
	assert.Equal(t, "guest", envs["__OW_NAMESPACE"])
	assert.Equal(t, guest, envs["__OW_API_KEY"], "the key is the trigger owner's")
	e.must(http.StatusForbidden, http.MethodPost, "/api/v1/namespaces/guest/triggers/t", sys, nil)
}

func TestFireThrottle(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Limits = server.Limits{FiresPerMinute: 2} })
	e.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{})
	e.must(http.StatusNoContent, http.MethodPost, trigPath+"t", guest, nil)
	e.must(http.StatusNoContent, http.MethodPost, trigPath+"t", guest, nil)
	r := e.must(http.StatusTooManyRequests, http.MethodPost, trigPath+"t", guest, nil)
	assert.Equal(t, "Too many requests in the last minute (count: 3, allowed: 2).", r.errMsg(t))
}

func TestFirePayloadTooLarge(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{})
	big := `{"x":"` + strings.Repeat("y", 1<<20) + `"}`
	r := e.must(http.StatusRequestEntityTooLarge, http.MethodPost, trigPath+"t", guest, []byte(big))
	assert.Equal(t, "Request larger than allowed: 1048584 > 1048576 bytes.", r.errMsg(t))
}
