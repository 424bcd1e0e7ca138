package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rulePath = "/api/v1/namespaces/_/rules/"

func TestRuleLifecycle(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "a", nil)
	e.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{})
	rule := e.must(http.StatusOK, http.MethodPut, rulePath+"r", guest, map[string]any{
		"name": "r", "status": "", "trigger": "/_/t", "action": "/_/a",
	}).obj(t)
	assert.Equal(t, "active", rule["status"], "new rules are active")
	assert.Equal(t, map[string]any{"path": "guest", "name": "t"}, rule["trigger"], "/_/ resolved at write time")
	assert.Equal(t, map[string]any{"path": "guest", "name": "a"}, rule["action"])

	tr := e.must(http.StatusOK, http.MethodGet, trigPath+"t", guest, nil).obj(t)
	assert.Equal(t, map[string]any{"guest/r": map[string]any{"action": map[string]any{"path": "guest", "name": "a"}, "status": "active"}}, tr["rules"])

	// status changes answer 200, also when nothing changes
	for _, st := range []string{"inactive", "inactive", "active"} {
		r := e.must(http.StatusOK, http.MethodPost, rulePath+"r", guest, map[string]any{"status": st, "trigger": nil, "action": nil})
		assert.Equal(t, "OK", string(r.body))
		got := e.must(http.StatusOK, http.MethodGet, rulePath+"r", guest, nil).obj(t)
		assert.Equal(t, st, got["status"])
	}
	e.must(http.StatusBadRequest, http.MethodPost, rulePath+"r", guest, map[string]any{"status": "paused"})

	list := e.must(http.StatusOK, http.MethodGet, rulePath, guest, nil).list(t)
	require.Len(t, list, 1)
	assert.NotContains(t, list[0], "status", "rule lists carry no status")
	assert.Contains(t, list[0], "trigger")

	// update keeps the status
	e.must(http.StatusOK, http.MethodPost, rulePath+"r", guest, map[string]any{"status": "inactive"})
	up := e.must(http.StatusOK, http.MethodPut, rulePath+"r?overwrite=true", guest, map[string]any{"trigger": "/_/t", "action": "/_/a"}).obj(t)
	assert.Equal(t, "inactive", up["status"])
	assert.Equal(t, "0.0.2", up["version"])

	// deleting the trigger leaves the rule, inactive
	e.must(http.StatusOK, http.MethodDelete, trigPath+"t", guest, nil)
	got := e.must(http.StatusOK, http.MethodGet, rulePath+"r", guest, nil).obj(t)
	assert.Equal(t, "inactive", got["status"])
	r := e.must(http.StatusNotFound, http.MethodPost, rulePath+"r", guest, map[string]any{"status": "active"})
	assert.Equal(t, "Only rules with existing triggers can be activated", r.errMsg(t))

	del := e.must(http.StatusOK, http.MethodDelete, rulePath+"r", guest, nil).obj(t)
	assert.Equal(t, "inactive", del["status"])
	e.must(http.StatusNotFound, http.MethodGet, rulePath+"r", guest, nil)
}

func TestRuleDeleteUnlinksTrigger(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "a", nil)
	e.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{})
	e.must(http.StatusOK, http.MethodPut, rulePath+"r", guest, map[string]any{"trigger": "/_/t", "action": "/_/a"})
	e.must(http.StatusOK, http.MethodDelete, rulePath+"r", guest, nil)
	tr := e.must(http.StatusOK, http.MethodGet, trigPath+"t", guest, nil).obj(t)
	assert.Equal(t, map[string]any{}, tr["rules"])
	e.must(http.StatusNoContent, http.MethodPost, trigPath+"t", guest, nil)
}

func TestRuleReferences(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, pkgPath+"pub", sys, map[string]any{"publish": true})
	e.must(http.StatusOK, http.MethodPut, pkgPath+"priv", sys, map[string]any{})
	e.createAction(sys, "_", "pub/a", nil)
	e.createAction(sys, "_", "priv/a", nil)
	e.createAction(sys, "_", "plain", nil)
	e.must(http.StatusOK, http.MethodPut, trigPath+"sys", sys, map[string]any{})
	e.must(http.StatusOK, http.MethodPut, pkgPath+"bnd", guest, map[string]any{"binding": map[string]any{"namespace": "whisk.system", "name": "pub"}})
	e.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{})
	e.createAction(guest, "_", "mine", nil)

	tests := []struct {
		name    string
		trigger string
		action  string
		status  int
		msg     string
	}{
		{"own action", "/_/t", "/_/mine", 200, ""},
		{"public package action", "/_/t", "/whisk.system/pub/a", 200, ""},
		{"action in own binding", "/guest/t", "/_/bnd/a", 200, ""},
		{"foreign private package", "/_/t", "/whisk.system/priv/a", 403, "The supplied authentication is not authorized to access 'whisk.system/priv'."},
		{"foreign default package", "/_/t", "/whisk.system/plain", 403, "The supplied authentication is not authorized to access 'whisk.system/plain'."},
		{"foreign trigger", "/whisk.system/sys", "/_/mine", 403, "The supplied authentication is not authorized to access 'whisk.system/sys'."},
		{"missing trigger", "/_/nope", "/_/mine", 400, "trigger /guest/nope does not exist"},
		{"missing action", "/_/t", "/_/nope", 400, "action /guest/nope does not exist"},
		{"missing action in public package", "/_/t", "/whisk.system/pub/nope", 400, "action /whisk.system/pub/nope does not exist"},
		{"name without namespace", "t", "/_/mine", 400, "The request content was malformed:\nrequirement failed: The fully qualified name of the entity must contain at least the namespace and the name of the entity."},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "r" + string(rune('a'+i))
			r := e.do(http.MethodPut, rulePath+name, guest, map[string]any{"trigger": tc.trigger, "action": tc.action})
			require.Equal(t, tc.status, r.status, "%s", r.body)
			if tc.msg != "" {
				assert.Equal(t, tc.msg, r.errMsg(t))
			}
		})
	}
	e.must(http.StatusBadRequest, http.MethodPut, rulePath+"partial", guest, map[string]any{"trigger": "/_/t"})

	// firing reaches the public and the bound action as guest
	id := e.must(http.StatusAccepted, http.MethodPost, trigPath+"t", guest, nil).obj(t)["activationId"].(string)
	ta := e.activation(guest, "guest", id)
	assert.Len(t, ta["logs"], 3)
	for _, l := range ta["logs"].([]any) {
		assert.Contains(t, l, `"success":true`)
	}
}
