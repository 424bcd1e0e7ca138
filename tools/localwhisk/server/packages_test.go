package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const pkgPath = "/api/v1/namespaces/_/packages/"

func TestPackageCRUD(t *testing.T) {
	e := newEnv(t)
	p := e.must(http.StatusOK, http.MethodPut, pkgPath+"p", guest, map[string]any{
		"publish": true, "parameters": []any{kv("a", 1)}, "annotations": []any{kv("binding", "forged"), kv("x", 1)},
	}).obj(t)
	assert.Equal(t, map[string]any{}, p["binding"])
	assert.Equal(t, true, p["publish"])
	_, forged := annotation(p["annotations"], "binding")
	assert.False(t, forged, "the binding annotation is the controller's")

	e.createAction(guest, "_", "p/act", nil)
	e.createAction(guest, "_", "p/feed", map[string]any{"annotations": []any{kv("feed", true)}})
	got := e.must(http.StatusOK, http.MethodGet, pkgPath+"p", guest, nil).obj(t)
	require.Len(t, got["actions"], 1)
	require.Len(t, got["feeds"], 1)
	assert.Equal(t, "act", got["actions"].([]any)[0].(map[string]any)["name"])
	assert.Equal(t, "feed", got["feeds"].([]any)[0].(map[string]any)["name"])

	up := e.must(http.StatusOK, http.MethodPut, pkgPath+"p?overwrite=true", guest, map[string]any{"publish": false}).obj(t)
	assert.Equal(t, "0.0.2", up["version"])
	assert.Equal(t, []any{kv("a", 1.0)}, up["parameters"])

	r := e.must(http.StatusConflict, http.MethodDelete, pkgPath+"p", guest, nil)
	assert.Equal(t, "Package not empty (contains 2 entities). Set force param or delete package contents.", r.errMsg(t))
	e.must(http.StatusOK, http.MethodDelete, "/api/v1/namespaces/_/actions/p/feed", guest, nil)
	r = e.must(http.StatusConflict, http.MethodDelete, pkgPath+"p", guest, nil)
	assert.Equal(t, "Package not empty (contains 1 entity). Set force param or delete package contents.", r.errMsg(t))
	e.must(http.StatusOK, http.MethodDelete, pkgPath+"p?force=true", guest, nil)
	e.must(http.StatusNotFound, http.MethodGet, pkgPath+"p", guest, nil)
	e.must(http.StatusNotFound, http.MethodGet, "/api/v1/namespaces/_/actions/p/act", guest, nil)

	r = e.must(http.StatusBadRequest, http.MethodPut, pkgPath+"default", guest, map[string]any{})
	assert.Equal(t, "Package name 'default' is reserved.", r.errMsg(t))
}

func TestPackageVisibilityAcrossNamespaces(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, pkgPath+"pub", sys, map[string]any{"publish": true})
	e.must(http.StatusOK, http.MethodPut, pkgPath+"priv", sys, map[string]any{})
	e.must(http.StatusOK, http.MethodPut, pkgPath+"bnd", sys, map[string]any{"publish": true, "binding": map[string]any{"namespace": "_", "name": "pub"}})

	own := e.must(http.StatusOK, http.MethodGet, pkgPath, sys, nil).list(t)
	assert.Len(t, own, 3)
	var sawBinding bool
	for _, x := range own {
		m := x.(map[string]any)
		if m["name"] == "bnd" {
			sawBinding = true
			assert.Equal(t, map[string]any{"namespace": "whisk.system", "name": "pub"}, m["binding"])
		} else {
			assert.Equal(t, false, m["binding"])
		}
	}
	assert.True(t, sawBinding)

	foreign := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/whisk.system/packages", guest, nil).list(t)
	require.Len(t, foreign, 1, "only public non-binding packages")
	assert.Equal(t, "pub", foreign[0].(map[string]any)["name"])

	e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/whisk.system/packages/pub", guest, nil)
	for _, name := range []string{"priv", "bnd", "missing"} {
		r := e.must(http.StatusForbidden, http.MethodGet, "/api/v1/namespaces/whisk.system/packages/"+name, guest, nil)
		assert.Equal(t, "The supplied authentication is not authorized to access 'whisk.system/"+name+"'.", r.errMsg(t))
	}
	e.must(http.StatusForbidden, http.MethodPut, "/api/v1/namespaces/whisk.system/packages/pub?overwrite=true", guest, map[string]any{})
	e.must(http.StatusForbidden, http.MethodDelete, "/api/v1/namespaces/whisk.system/packages/pub", guest, nil)
}

func TestBindingRules(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, pkgPath+"pub", sys, map[string]any{"publish": true})
	e.must(http.StatusOK, http.MethodPut, pkgPath+"priv", sys, map[string]any{})
	e.must(http.StatusOK, http.MethodPut, pkgPath+"mine", guest, map[string]any{})
	e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/triggers/trig", guest, map[string]any{})

	bind := func(ns, name string) map[string]any {
		return map[string]any{"binding": map[string]any{"namespace": ns, "name": name}}
	}
	b := e.must(http.StatusOK, http.MethodPut, pkgPath+"b1", guest, bind("whisk.system", "pub")).obj(t)
	assert.Equal(t, map[string]any{"namespace": "whisk.system", "name": "pub"}, b["binding"])
	ann, _ := annotation(b["annotations"], "binding")
	assert.Equal(t, map[string]any{"namespace": "whisk.system", "name": "pub"}, ann)
	b = e.must(http.StatusOK, http.MethodPut, pkgPath+"b2", guest, bind("_", "mine")).obj(t)
	assert.Equal(t, map[string]any{"namespace": "guest", "name": "mine"}, b["binding"], "_ is resolved when written")

	tests := []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"to private foreign package", bind("whisk.system", "priv"), 403, "The supplied authentication is not authorized to access 'whisk.system/priv'."},
		{"to missing own package", bind("_", "nope"), 400, "Binding references a package that does not exist."},
		{"to a binding", bind("_", "b2"), 400, "Cannot bind to another package binding."},
		{"to a trigger", bind("_", "trig"), 409, "Cannot bind to a resource that is not a package."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodPut, pkgPath+"bad", guest, tc.body)
			require.Equal(t, tc.status, r.status, "%s", r.body)
			assert.Equal(t, tc.msg, r.errMsg(t))
		})
	}
	r := e.must(http.StatusConflict, http.MethodPut, pkgPath+"mine?overwrite=true", guest, bind("whisk.system", "pub"))
	assert.Equal(t, "Resource is a package and cannot be converted into a binding.", r.errMsg(t))
	// a binding can always be deleted
	e.must(http.StatusOK, http.MethodDelete, pkgPath+"b1", guest, nil)
}

func TestBindingParameterMerge(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, pkgPath+"pub", sys, map[string]any{
		"publish":    true,
		"parameters": []any{kv("p", "package"), kv("b", "package"), kv("a", "package"), kv("i", "package")},
	})
	e.createAction(sys, "_", "pub/echo", map[string]any{"parameters": []any{kv("a", "action"), kv("i", "action")}})
	e.must(http.StatusOK, http.MethodPut, pkgPath+"mybind", guest, map[string]any{
		"binding":    map[string]any{"namespace": "whisk.system", "name": "pub"},
		"parameters": []any{kv("b", "binding"), kv("a", "binding")},
	})

	// GET of the binding shows target parameters overlaid by its own, and the target's actions
	got := e.must(http.StatusOK, http.MethodGet, pkgPath+"mybind", guest, nil).obj(t)
	assert.Equal(t, "guest", got["namespace"])
	assert.Equal(t, "mybind", got["name"])
	assert.Equal(t, []any{kv("p", "package"), kv("b", "binding"), kv("a", "binding"), kv("i", "package")}, got["parameters"])
	require.Len(t, got["actions"], 1)

	// invocation: package < binding < action < payload
	r := e.must(http.StatusOK, http.MethodPost, "/api/v1/namespaces/_/actions/mybind/echo?blocking=true", guest, map[string]any{"i": "invoke"})
	act := r.obj(t)
	params := act["response"].(map[string]any)["result"].(map[string]any)["params"]
	assert.Equal(t, map[string]any{"p": "package", "b": "binding", "a": "action", "i": "invoke"}, params)
	binding, _ := annotation(act["annotations"], "binding")
	assert.Equal(t, "guest/mybind", binding)

	// the name filter of activations knows the binding
	list := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/activations?name=mybind/echo", guest, nil).list(t)
	require.Len(t, list, 1)

	// GET of the action through the binding shows the merged parameters
	a := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/actions/mybind/echo", guest, nil).obj(t)
	assert.Equal(t, []any{kv("p", "package"), kv("b", "binding"), kv("a", "action"), kv("i", "action")}, a["parameters"])

	// listing a binding's actions lists the target package's
	l := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/actions/mybind/", guest, nil).list(t)
	require.Len(t, l, 1)
	assert.Equal(t, "whisk.system/pub", l[0].(map[string]any)["namespace"])
}
