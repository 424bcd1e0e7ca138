package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestActionCreateGetDelete(t *testing.T) {
	e := newEnv(t)
	a := e.createAction(guest, "_", "hello", map[string]any{
		"parameters":  []any{kv("greeting", "hi"), map[string]any{"key": "INITVAR", "value": "x", "init": true}},
		"annotations": []any{kv("web-export", true)},
		"limits":      map[string]any{"timeout": 5000},
		"name":        "ignored", "namespace": "_",
	})
	assert.Equal(t, "guest", a["namespace"])
	assert.Equal(t, "hello", a["name"])
	assert.Equal(t, "0.0.1", a["version"])
	assert.Equal(t, false, a["publish"])
	exec := a["exec"].(map[string]any)
	assert.Equal(t, "go:1.24", exec["kind"])
	assert.Equal(t, true, exec["binary"], "base64 code is binary")
	assert.Equal(t, map[string]any{"timeout": 5000.0, "memory": 256.0, "logs": 10.0, "concurrency": 1.0}, a["limits"])
	v, ok := annotation(a["annotations"], "provide-api-key")
	assert.True(t, ok)
	assert.Equal(t, false, v)
	v, _ = annotation(a["annotations"], "exec")
	assert.Equal(t, "go:1.24", v)
	p := a["parameters"].([]any)[1].(map[string]any)
	assert.Equal(t, true, p["init"])

	// create again without overwrite
	r := e.must(http.StatusConflict, http.MethodPut, "/api/v1/namespaces/_/actions/hello?overwrite=false", guest, codeAction(nil))
	assert.Equal(t, "resource already exists", r.errMsg(t))

	got := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/guest/actions/hello", guest, nil).obj(t)
	assert.Equal(t, actionZip, got["exec"].(map[string]any)["code"])
	meta := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/guest/actions/hello?code=false", guest, nil).obj(t)
	assert.Equal(t, map[string]any{"kind": "go:1.24", "binary": true}, meta["exec"])

	del := e.must(http.StatusOK, http.MethodDelete, "/api/v1/namespaces/_/actions/hello", guest, nil).obj(t)
	assert.Equal(t, "hello", del["name"])
	e.must(http.StatusNotFound, http.MethodGet, "/api/v1/namespaces/_/actions/hello", guest, nil)
	e.must(http.StatusNotFound, http.MethodDelete, "/api/v1/namespaces/_/actions/hello", guest, nil)
}

func TestActionUpdateMergesAnnotationsAndBumpsVersion(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "a", map[string]any{
		"annotations": []any{kv("keep", 1), kv("drop", 2), kv("provide-api-key", true)},
		"parameters":  []any{kv("p", 1)},
		"limits":      map[string]any{"timeout": 1000, "memory": 128},
	})
	up := e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/actions/a?overwrite=true", guest, map[string]any{
		"annotations":    []any{kv("new", 3)},
		"delAnnotations": []any{"drop"},
		"limits":         map[string]any{"memory": 512},
	}).obj(t)
	assert.Equal(t, "0.0.2", up["version"])
	ann := up["annotations"]
	for k, want := range map[string]any{"keep": 1.0, "new": 3.0, "provide-api-key": true, "exec": "go:1.24"} {
		v, ok := annotation(ann, k)
		assert.True(t, ok, k)
		assert.Equal(t, want, v, k)
	}
	_, ok := annotation(ann, "drop")
	assert.False(t, ok)
	assert.Equal(t, []any{kv("p", 1.0)}, up["parameters"], "parameters kept when absent")
	l := up["limits"].(map[string]any)
	assert.EqualValues(t, 1000, l["timeout"])
	assert.EqualValues(t, 512, l["memory"])
	assert.Equal(t, actionZip, up["exec"].(map[string]any)["code"], "exec kept when absent")

	// an update does not add provide-api-key
	e.createAction(guest, "_", "b", map[string]any{"annotations": []any{}})
	up = e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/actions/b?overwrite=true", guest, map[string]any{"delAnnotations": []any{"provide-api-key"}}).obj(t)
	_, ok = annotation(up["annotations"], "provide-api-key")
	assert.False(t, ok)
	assert.Equal(t, "0.0.2", up["version"])
}

func TestActionValidation(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("a", 257)
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		msg    string
	}{
		{"illegal name", "/api/v1/namespaces/_/actions/%20bad", codeAction(nil), 400, "The name of the entity contains illegal characters."},
		{"trailing space", "/api/v1/namespaces/_/actions/bad%20", codeAction(nil), 400, "The name of the entity contains illegal characters."},
		{"name too long", "/api/v1/namespaces/_/actions/" + long, codeAction(nil), 400, "Name segement longer than allowed: 257 > 256."},
		{"unknown kind", "/api/v1/namespaces/_/actions/k", map[string]any{"exec": map[string]any{"kind": "nodejs:20", "code": "x"}}, 400,
			"The request content was malformed:\nThe specified runtime 'nodejs:20' is not supported by this platform. Valid values are: 'go:1.22', 'go:1.23', 'go:1.24'."},
		{"no exec", "/api/v1/namespaces/_/actions/k", map[string]any{}, 400, "exec undefined"},
		{"timeout too small", "/api/v1/namespaces/_/actions/k", codeAction(map[string]any{"limits": map[string]any{"timeout": 50}}), 400,
			"The request content was malformed:\nduration 50 milliseconds below allowed threshold of 100 milliseconds"},
		{"memory too big", "/api/v1/namespaces/_/actions/k", codeAction(map[string]any{"limits": map[string]any{"memory": 1024}}), 400,
			"The request content was malformed:\nmemory size 1024 MB exceeds allowed threshold of 512 MB"},
		{"concurrency", "/api/v1/namespaces/_/actions/k", codeAction(map[string]any{"limits": map[string]any{"concurrency": 2}}), 400,
			"The request content was malformed:\nconcurrency 2 exceeds allowed threshold of 1"},
		{"missing package", "/api/v1/namespaces/_/actions/nopkg/k", codeAction(nil), 404, "The requested resource does not exist."},
		{"other namespace", "/api/v1/namespaces/whisk.system/actions/k", codeAction(nil), 403,
			"The supplied authentication is not authorized to access 'whisk.system/k'."},
		{"parameters too large", "/api/v1/namespaces/_/actions/k", codeAction(map[string]any{"parameters": []any{kv("big", strings.Repeat("x", 1<<20))}}), 413,
			"parameters larger than allowed: 1048581 > 1048576 bytes."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodPut, tc.path, guest, tc.body)
			require.Equal(t, tc.status, r.status, "%s", r.body)
			assert.Equal(t, tc.msg, r.errMsg(t))
		})
	}
}

func TestActionDefaultKindAndTextCode(t *testing.T) {
	e := newEnv(t)
	a := e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/actions/d", guest, map[string]any{
		"exec": map[string]any{"kind": "go:default", "code": "package main", "binary": true},
	}).obj(t)
	exec := a["exec"].(map[string]any)
	assert.Equal(t, "go:1.24", exec["kind"], "go:default resolves")
	assert.Equal(t, false, exec["binary"], "binary is computed from the code, not taken from the request")
}

func TestActionNameClashWithOtherCollection(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/triggers/x", guest, map[string]any{})
	r := e.must(http.StatusConflict, http.MethodPut, "/api/v1/namespaces/_/actions/x", guest, codeAction(nil))
	assert.Equal(t, "Resource by this name exists but is not in this collection.", r.errMsg(t))
	e.must(http.StatusConflict, http.MethodGet, "/api/v1/namespaces/_/actions/x", guest, nil)
}

func TestActionList(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/packages/p", guest, map[string]any{})
	e.createAction(guest, "_", "a1", nil)
	e.createAction(guest, "_", "p/a2", nil)
	e.createAction(guest, "_", "a3", nil)

	all := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/actions", guest, nil).list(t)
	require.Len(t, all, 3)
	names := []string{}
	for _, x := range all {
		m := x.(map[string]any)
		names = append(names, m["namespace"].(string)+"/"+m["name"].(string))
		assert.NotContains(t, m, "parameters", "list rows are summaries")
		assert.Contains(t, m, "limits")
		assert.Equal(t, map[string]any{"binary": true}, m["exec"])
	}
	assert.Equal(t, []string{"guest/a3", "guest/p/a2", "guest/a1"}, names, "newest first")

	paged := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/actions?limit=1&skip=1", guest, nil).list(t)
	require.Len(t, paged, 1)
	assert.Equal(t, "a2", paged[0].(map[string]any)["name"])

	inPkg := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/actions/p/", guest, nil).list(t)
	require.Len(t, inPkg, 1)
	assert.Equal(t, "guest/p", inPkg[0].(map[string]any)["namespace"])

	count := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/actions?count=true", guest, nil).obj(t)
	assert.EqualValues(t, 3, count["actions"])

	r := e.must(http.StatusBadRequest, http.MethodGet, "/api/v1/namespaces/_/actions?limit=500", guest, nil)
	assert.Equal(t, "The query parameter 'limit' was malformed:\nThe value '500' is not in the range of 0 to 200 for actions.", r.errMsg(t))
	e.must(http.StatusBadRequest, http.MethodGet, "/api/v1/namespaces/_/actions?skip=-1", guest, nil)

	r = e.must(http.StatusForbidden, http.MethodGet, "/api/v1/namespaces/whisk.system/actions", guest, nil)
	assert.Equal(t, "The supplied authentication is not authorized to access 'whisk.system'.", r.errMsg(t))
}

func TestActionThroughBindingWritesRejected(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/packages/p", guest, map[string]any{})
	e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/packages/b", guest, map[string]any{"binding": map[string]any{"namespace": "_", "name": "p"}})
	e.createAction(guest, "_", "p/a", nil)
	for _, m := range []string{http.MethodPut, http.MethodDelete} {
		r := e.must(http.StatusBadRequest, m, "/api/v1/namespaces/_/actions/b/a", guest, codeAction(nil))
		assert.Equal(t, "Operation not permitted on package binding.", r.errMsg(t))
	}
	// reading through the binding works
	got := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/actions/b/a", guest, nil).obj(t)
	assert.Equal(t, "guest/p", got["namespace"])
}

func TestActionEntitlementAcrossNamespaces(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/packages/pub", sys, map[string]any{"publish": true})
	e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/packages/priv", sys, map[string]any{})
	e.createAction(sys, "_", "pub/a", nil)
	e.createAction(sys, "_", "priv/a", nil)
	e.createAction(sys, "_", "plain", nil)

	e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/whisk.system/actions/pub/a", guest, nil)
	tests := []struct{ method, path, msg string }{
		{http.MethodGet, "/api/v1/namespaces/whisk.system/actions/priv/a", "'whisk.system/priv'"},
		{http.MethodGet, "/api/v1/namespaces/whisk.system/actions/plain", "'whisk.system/plain'"},
		{http.MethodGet, "/api/v1/namespaces/whisk.system/actions/missing/a", "'whisk.system/missing'"},
		{http.MethodPut, "/api/v1/namespaces/whisk.system/actions/pub/a", "'whisk.system/pub/a'"},
		{http.MethodDelete, "/api/v1/namespaces/whisk.system/actions/pub/a", "'whisk.system/pub/a'"},
		{http.MethodPost, "/api/v1/namespaces/whisk.system/actions/priv/a", "'whisk.system/priv'"},
	}
	for _, tc := range tests {
		r := e.must(http.StatusForbidden, tc.method, tc.path, guest, codeAction(nil))
		assert.Equal(t, "The supplied authentication is not authorized to access "+tc.msg+".", r.errMsg(t), tc.path)
	}
}
