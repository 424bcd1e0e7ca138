package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

func TestOneLogLinePerRequest(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusNotFound, http.MethodGet, trigPath+"missing", guest, nil)
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		if m["msg"] == "request" && strings.HasSuffix(m["path"].(string), "/triggers/missing") {
			line = m
		}
	}
	require.NotNil(t, line)
	assert.Equal(t, "GET", line["method"])
	assert.EqualValues(t, 404, line["status"])
	assert.Contains(t, line, "duration_ms")
	assert.NotContains(t, line, "request_body", "bodies only with Verbose")
}

func TestVerboseLogsRedactSecrets(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Verbose = true })
	e.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{
		"parameters": []any{kv("s3_secret_access_key", "TOPSECRET1"), kv("bucket", "visible-bucket")},
	})
	e.must(http.StatusNoContent, http.MethodPost, trigPath+"t", guest, map[string]any{"authKey": "TOPSECRET2", "api_key": "TOPSECRET3"})
	logs := e.logs.String()
	assert.Contains(t, logs, "visible-bucket")
	for _, secret := range []string{"TOPSECRET1", "TOPSECRET2", "TOPSECRET3", guest[37:]} {
		assert.NotContains(t, logs, secret)
	}
	assert.Contains(t, logs, "[redacted]")
}
