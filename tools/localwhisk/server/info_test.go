package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

func TestRootInfoServesRuntimes(t *testing.T) {
	e := newEnv(t)
	r := e.must(http.StatusOK, http.MethodGet, "/", "", nil)
	// wskdeploy accepts the body only if its content type is a substring of this
	assert.True(t, strings.Contains("application/json; charset=UTF-8", r.header.Get("Content-Type")), r.header.Get("Content-Type"))
	m := r.obj(t)
	assert.Equal(t, "OpenWhisk", m["description"])
	assert.Equal(t, []any{"/api/v1"}, m["api_paths"])
	goKinds := m["runtimes"].(map[string]any)["go"].([]any)
	var kinds []string
	defaults := 0
	for _, k := range goKinds {
		rt := k.(map[string]any)
		kinds = append(kinds, rt["kind"].(string))
		assert.Equal(t, false, rt["deprecated"])
		if rt["default"] == true {
			defaults++
			assert.Equal(t, "go:1.24", rt["kind"])
		}
	}
	assert.Equal(t, []string{"go:1.22", "go:1.23", "go:1.24"}, kinds)
	assert.Equal(t, 1, defaults)
}

func TestAPIInfo(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/api/v1", "/api/v1/"} {
		m := e.must(http.StatusOK, http.MethodGet, p, "", nil).obj(t)
		assert.Equal(t, "OpenWhisk API", m["description"])
		assert.Equal(t, "1.0.0", m["api_version"])
		assert.Equal(t, "v1", m["api_version_path"])
	}
}

func TestCORSAndOptions(t *testing.T) {
	e := newEnv(t)
	r := e.do(http.MethodOptions, "/api/v1/namespaces/_/actions/x", "", nil)
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, r.header.Get("Access-Control-Allow-Methods"), "PUT")
	assert.Contains(t, r.header.Get("Access-Control-Allow-Headers"), "Authorization")

	r = e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/actions", guest, nil)
	assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
}

func TestUnknownRoute(t *testing.T) {
	e := newEnv(t)
	r := e.must(http.StatusNotFound, http.MethodGet, "/api/v1/namespaces/_/nothing", guest, nil)
	assert.NotEmpty(t, r.errMsg(t))
	e.must(http.StatusNotFound, http.MethodGet, "/elsewhere", "", nil)
}

func TestLimitsEndpoint(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.Limits = server.Limits{FiresPerMinute: 7}
		c.NamespaceLimits = map[string]server.Limits{"alice": {InvocationsPerMinute: 3, ConcurrentInvocations: 2}}
	})
	m := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/limits", guest, nil).obj(t)
	assert.EqualValues(t, 7, m["firesPerMinute"])
	assert.NotContains(t, m, "invocationsPerMinute")
	assert.EqualValues(t, 300000, m["maxActionTimeout"])

	m = e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/alice/limits", alice, nil).obj(t)
	assert.EqualValues(t, 3, m["invocationsPerMinute"])
	assert.EqualValues(t, 2, m["concurrentInvocations"])

	r := e.must(http.StatusForbidden, http.MethodGet, "/api/v1/namespaces/alice/limits", guest, nil)
	assert.Equal(t, "The supplied authentication is not authorized to access 'alice'.", r.errMsg(t))
}

func TestParseLimits(t *testing.T) {
	lf, err := server.ParseLimits(strings.NewReader(`{"default":{"firesPerMinute":60},"namespaces":{"guest":{"invocationsPerMinute":5}}}`))
	require.NoError(t, err)
	assert.Equal(t, 60, lf.Default.FiresPerMinute)
	assert.Equal(t, 5, lf.Namespaces["guest"].InvocationsPerMinute)

	for _, bad := range []string{`{"default":{"firesPerMinute":-1}}`, `{"defaults":{}}`, `[`} {
		_, err := server.ParseLimits(strings.NewReader(bad))
		assert.Error(t, err, bad)
	}
}
