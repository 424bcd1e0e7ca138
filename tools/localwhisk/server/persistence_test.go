package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	withData := func(c *server.Config) { c.DataDir = dir }

	first := newEnv(t, withData)
	first.must(http.StatusOK, http.MethodPut, pkgPath+"p", guest, map[string]any{"parameters": []any{kv("k", "v")}})
	first.createAction(guest, "_", "p/a", nil)
	first.createAction(guest, "_", "gone", nil)
	first.must(http.StatusOK, http.MethodDelete, "/api/v1/namespaces/_/actions/gone", guest, nil)
	first.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{})
	first.must(http.StatusOK, http.MethodPut, rulePath+"r", guest, map[string]any{"trigger": "/_/t", "action": "/_/p/a"})
	first.must(http.StatusOK, http.MethodPost, rulePath+"r", guest, map[string]any{"status": "inactive"})

	second := newEnv(t, withData)
	pkg := second.must(http.StatusOK, http.MethodGet, pkgPath+"p", guest, nil).obj(t)
	assert.Equal(t, []any{kv("k", "v")}, pkg["parameters"])
	require.Len(t, pkg["actions"], 1)
	second.must(http.StatusNotFound, http.MethodGet, "/api/v1/namespaces/_/actions/gone", guest, nil)
	rule := second.must(http.StatusOK, http.MethodGet, rulePath+"r", guest, nil).obj(t)
	assert.Equal(t, "inactive", rule["status"], "rule status lives in the stored trigger")

	r := second.must(http.StatusOK, http.MethodPost, "/api/v1/namespaces/_/actions/p/a?blocking=true&result=true", guest, nil)
	assert.Equal(t, map[string]any{"k": "v"}, r.obj(t)["params"], "the restored action runs")

	// updates keep counting versions from the stored state
	up := second.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/actions/p/a?overwrite=true", guest, map[string]any{}).obj(t)
	assert.Equal(t, "0.0.2", up["version"])
}

func TestMemoryOnlyByDefault(t *testing.T) {
	first := newEnv(t)
	first.must(http.StatusOK, http.MethodPut, trigPath+"t", guest, map[string]any{})
	second := newEnv(t)
	second.must(http.StatusNotFound, http.MethodGet, trigPath+"t", guest, nil)
}
