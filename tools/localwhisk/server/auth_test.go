package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	wrongKey := strings.Replace(guest, "123z", "999z", 1)
	tests := []struct {
		name    string
		auth    string
		status  int
		message string
	}{
		{"missing", "", http.StatusUnauthorized, "The resource requires authentication, which was not supplied with the request"},
		{"wrong key", wrongKey, http.StatusUnauthorized, "The supplied authentication is invalid"},
		{"unknown uuid", "00000000-0000-0000-0000-000000000000:" + strings.Repeat("a", 64), http.StatusUnauthorized, "The supplied authentication is invalid"},
		{"malformed", "nonsense", http.StatusUnauthorized, "The supplied authentication is invalid"},
		{"guest", guest, http.StatusOK, ""},
		{"whisk.system", sys, http.StatusOK, ""},
		{"from auth file", alice, http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodGet, "/api/v1/namespaces/_/actions", tc.auth, nil)
			require.Equal(t, tc.status, r.status, "%s", r.body)
			if tc.status == http.StatusUnauthorized {
				assert.Equal(t, `Basic realm="OpenWhisk secure realm"`, r.header.Get("WWW-Authenticate"))
				assert.Equal(t, tc.message, r.errMsg(t))
			}
		})
	}
}

func TestNamespacesList(t *testing.T) {
	e := newEnv(t)
	for auth, ns := range map[string]string{guest: "guest", sys: "whisk.system", alice: "alice"} {
		r := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces", auth, nil)
		assert.Equal(t, []any{ns}, r.list(t))
	}
}

func TestUnderscoreResolvesToCaller(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/triggers/t", guest, map[string]any{})
	r := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/guest/triggers/t", guest, nil)
	assert.Equal(t, "guest", r.obj(t)["namespace"])
	// the same path as another identity names another namespace
	e.must(http.StatusNotFound, http.MethodGet, "/api/v1/namespaces/_/triggers/t", sys, nil)
}

func TestParseAuthFile(t *testing.T) {
	ids, err := server.ParseAuthFile(strings.NewReader("# comment\n\nalice " + alice + "\n"))
	require.NoError(t, err)
	require.Len(t, ids, 1)
	assert.Equal(t, "alice", ids[0].Namespace)
	assert.Equal(t, alice, ids[0].AuthKey())

	for _, bad := range []string{
		"alice",
		"alice notakey",
		"alice 11111111-2222-3333-4444-555555555555:short",
		"bad/name " + alice,
	} {
		_, err := server.ParseAuthFile(strings.NewReader(bad))
		assert.Error(t, err, bad)
	}
}

func TestDuplicateIdentitiesRejected(t *testing.T) {
	_, err := server.New(server.Config{Identities: append(server.DefaultIdentities(), server.DefaultIdentities()[0])})
	require.Error(t, err)
}
