package server_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

const actPath = "/api/v1/namespaces/_/activations"

func TestActivationsListAndFilters(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, pkgPath+"p", guest, map[string]any{})
	e.createAction(guest, "_", "a", nil)
	e.createAction(guest, "_", "p/b", nil)
	var ids []string
	for _, path := range []string{"a", "p/b", "a"} {
		r := e.must(http.StatusOK, http.MethodPost, invokePath+path+"?blocking=true", guest, nil)
		ids = append(ids, r.obj(t)["activationId"].(string))
	}
	list := e.must(http.StatusOK, http.MethodGet, actPath, guest, nil).list(t)
	require.Len(t, list, 3)
	row := list[0].(map[string]any)
	assert.Equal(t, ids[2], row["activationId"], "newest first")
	assert.NotContains(t, row, "response", "rows are summaries")
	assert.EqualValues(t, 0, row["statusCode"])
	assert.Contains(t, row, "duration")

	byName := e.must(http.StatusOK, http.MethodGet, actPath+"?name=a", guest, nil).list(t)
	assert.Len(t, byName, 2)
	byPkg := e.must(http.StatusOK, http.MethodGet, actPath+"?name=p/b", guest, nil).list(t)
	require.Len(t, byPkg, 1)
	assert.Equal(t, ids[1], byPkg[0].(map[string]any)["activationId"])

	docs := e.must(http.StatusOK, http.MethodGet, actPath+"?docs=true&limit=1&skip=1", guest, nil).list(t)
	require.Len(t, docs, 1)
	assert.Equal(t, ids[1], docs[0].(map[string]any)["activationId"])
	assert.Contains(t, docs[0], "response")

	first := e.must(http.StatusOK, http.MethodGet, actPath+"/"+ids[0], guest, nil).obj(t)
	start := int64(first["start"].(float64))
	since := e.must(http.StatusOK, http.MethodGet, actPath+"?since="+strconv.FormatInt(start+1, 10), guest, nil).list(t)
	assert.Len(t, since, 2)
	upto := e.must(http.StatusOK, http.MethodGet, actPath+"?upto="+strconv.FormatInt(start, 10), guest, nil).list(t)
	assert.Len(t, upto, 1)

	count := e.must(http.StatusOK, http.MethodGet, actPath+"?count=true", guest, nil).obj(t)
	assert.EqualValues(t, 3, count["activations"])

	tests := []struct{ query, msg string }{
		{"?name=a/b/c", "The query parameter 'name' was malformed:\nParameter may be a 'simple' name or 'package-name/simple' name: a/b/c"},
		{"?since=yesterday", "The query parameter 'since' was malformed:\nParameter is not a valid value for epoch seconds: yesterday"},
		{"?docs=true&count=true", "The parameter 'docs' is not permitted with 'count'."},
	}
	for _, tc := range tests {
		r := e.must(http.StatusBadRequest, http.MethodGet, actPath+tc.query, guest, nil)
		assert.Equal(t, tc.msg, r.errMsg(t))
	}
}

func TestActivationGetResultLogs(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "a", nil)
	id := e.must(http.StatusOK, http.MethodPost, invokePath+"a?blocking=true", guest, map[string]any{"k": "v"}).obj(t)["activationId"].(string)
	res := e.must(http.StatusOK, http.MethodGet, actPath+"/"+id+"/result", guest, nil).obj(t)
	assert.Equal(t, "success", res["status"])
	assert.Equal(t, true, res["success"])
	assert.Equal(t, map[string]any{"k": "v"}, res["result"].(map[string]any)["params"])
	logs := e.must(http.StatusOK, http.MethodGet, actPath+"/"+id+"/logs", guest, nil).obj(t)
	assert.Contains(t, logs, "logs")

	r := e.must(http.StatusBadRequest, http.MethodGet, actPath+"/abc", guest, nil)
	assert.NotEmpty(t, r.errMsg(t))
	e.must(http.StatusNotFound, http.MethodGet, actPath+"/0123456789abcdef0123456789abcdef", guest, nil)
	e.must(http.StatusForbidden, http.MethodGet, "/api/v1/namespaces/guest/activations/"+id, sys, nil)
	e.must(http.StatusNotFound, http.MethodGet, actPath+"/"+id, sys, nil)
}

func TestActivationsRingIsBounded(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.ActivationsMax = 3 })
	e.createAction(guest, "_", "a", nil)
	var ids []string
	for range 5 {
		ids = append(ids, e.must(http.StatusOK, http.MethodPost, invokePath+"a?blocking=true", guest, nil).obj(t)["activationId"].(string))
	}
	list := e.must(http.StatusOK, http.MethodGet, actPath+"?limit=0", guest, nil).list(t)
	require.Len(t, list, 3)
	e.must(http.StatusNotFound, http.MethodGet, actPath+"/"+ids[0], guest, nil)
	e.must(http.StatusNotFound, http.MethodGet, actPath+"/"+ids[1], guest, nil)
	e.must(http.StatusOK, http.MethodGet, actPath+"/"+ids[4], guest, nil)
}
