package server_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// webAnnotations are what `wsk action create --web true` writes.
func webAnnotations(raw bool, extra ...any) []any {
	a := []any{kv("web-export", true), kv("raw-http", raw), kv("final", true)}
	return append(a, extra...)
}

func TestWebActionJSONMergesQueryAndBody(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "w", map[string]any{"annotations": webAnnotations(false), "parameters": []any{kv("bound", "b")}})
	r := e.do(http.MethodPost, "/api/v1/web/guest/default/w.json/extra/path?q=1&both=query", "", map[string]any{"both": "body", "n": 2}, "X-Thing", "yes")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.NotEmpty(t, r.header.Get("x-openwhisk-activation-id"))
	assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
	params := r.obj(t)["params"].(map[string]any)
	assert.Equal(t, "post", params["__ow_method"])
	assert.Equal(t, "/extra/path", params["__ow_path"])
	assert.Equal(t, "1", params["q"])
	assert.Equal(t, "body", params["both"], "body wins over query")
	assert.EqualValues(t, 2, params["n"])
	assert.Equal(t, "b", params["bound"])
	assert.NotContains(t, params, "__ow_user", "anonymous request")
	assert.NotContains(t, params, "__ow_query")
	headers := params["__ow_headers"].(map[string]any)
	assert.Equal(t, "yes", headers["x-thing"])

	// the action runs as its owner
	envs := r.obj(t)["env"].(map[string]any)
	assert.Equal(t, "guest", envs["__OW_NAMESPACE"])

	// reserved and final parameters cannot be overridden
	e.must(http.StatusBadRequest, http.MethodGet, "/api/v1/web/guest/default/w.json?bound=x", "", nil)
	r = e.must(http.StatusBadRequest, http.MethodGet, "/api/v1/web/guest/default/w.json?__ow_method=x", "", nil)
	assert.Equal(t, "Request defines parameters that are not allowed (e.g., reserved properties).", r.errMsg(t))

	// authenticated callers are named
	r = e.must(http.StatusOK, http.MethodGet, "/api/v1/web/guest/default/w.json", alice, nil)
	assert.Equal(t, "alice", r.obj(t)["params"].(map[string]any)["__ow_user"])
}

func TestWebActionRaw(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "raw", map[string]any{"annotations": webAnnotations(true)})
	r := e.do(http.MethodPut, "/api/v1/web/guest/default/raw.json?a=1&b=two", "", []byte("plain text body"), "Content-Type", "text/plain")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	params := r.obj(t)["params"].(map[string]any)
	assert.Equal(t, "a=1&b=two", params["__ow_query"])
	assert.Equal(t, "plain text body", params["__ow_body"])
	assert.NotContains(t, params, "a", "raw actions get no merged query")

	bin := []byte{0, 1, 2, 255}
	r = e.do(http.MethodPost, "/api/v1/web/guest/default/raw.json", "", bin, "Content-Type", "application/octet-stream")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, base64.StdEncoding.EncodeToString(bin), r.obj(t)["params"].(map[string]any)["__ow_body"])

	r = e.do(http.MethodPost, "/api/v1/web/guest/default/raw.json", "", map[string]any{"j": 1})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte(`{"j":1}`)), r.obj(t)["params"].(map[string]any)["__ow_body"], "raw JSON bodies are base64")
}

func TestWebActionHTTPResponses(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, pkgPath+"site", guest, map[string]any{})
	e.createAction(guest, "_", "site/page", map[string]any{"annotations": webAnnotations(false)})
	png := []byte{0x89, 'P', 'N', 'G'}
	tests := []struct {
		name     string
		response any
		status   int
		ctype    string
		body     string
	}{
		{"html default", map[string]any{"body": "<h1>hi</h1>"}, 200, "text/html; charset=UTF-8", "<h1>hi</h1>"},
		{"status and headers", map[string]any{"statusCode": 201, "headers": map[string]any{"X-A": "b", "Content-Type": "text/plain"}, "body": "made"}, 201, "text/plain; charset=UTF-8", "made"},
		{"json object body", map[string]any{"body": map[string]any{"ok": true}}, 200, "application/json", `{"ok":true}`},
		{"binary body decoded", map[string]any{"headers": map[string]any{"Content-Type": "image/png"}, "body": base64.StdEncoding.EncodeToString(png)}, 200, "image/png", string(png)},
		{"no body", map[string]any{"statusCode": 302, "headers": map[string]any{"Location": "/x"}}, 302, "", ""},
		{"empty result", map[string]any{}, 204, "", ""},
		{"bad status", map[string]any{"statusCode": "abc"}, 400, "application/json", ""},
		{"object body with text type", map[string]any{"headers": map[string]any{"Content-Type": "text/plain"}, "body": map[string]any{"a": 1}}, 400, "application/json", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.url+"/api/v1/web/guest/site/page", jsonReader(t, map[string]any{"op": "web", "response": tc.response}))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body := readAll(t, resp)
			require.Equal(t, tc.status, resp.StatusCode, "%s", body)
			if tc.ctype != "" {
				assert.Equal(t, tc.ctype, resp.Header.Get("Content-Type"))
			}
			if tc.status < 400 && tc.body != "" {
				assert.Equal(t, tc.body, body)
			}
			if tc.name == "status and headers" {
				assert.Equal(t, "b", resp.Header.Get("X-A"))
			}
			if tc.name == "no body" {
				assert.Equal(t, "/x", resp.Header.Get("Location"))
			}
		})
	}
}

func TestWebActionExtensionsAndErrors(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "w", map[string]any{"annotations": webAnnotations(false)})
	e.createAction(guest, "_", "hidden", nil)

	r := e.do(http.MethodPost, "/api/v1/web/guest/default/w.text", "", map[string]any{"op": "web", "response": map[string]any{"text": "hello"}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, "text/plain; charset=UTF-8", r.header.Get("Content-Type"))
	assert.Equal(t, "hello", string(r.body))
	r = e.must(http.StatusNotFound, http.MethodGet, "/api/v1/web/guest/default/w.text", "", nil)
	assert.Equal(t, "Response does not include requested property.", r.errMsg(t))
	r = e.do(http.MethodPost, "/api/v1/web/guest/default/w.html", "", map[string]any{"op": "web", "response": map[string]any{"html": "<p>x</p>"}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, "<p>x</p>", string(r.body))
	// a result that is not an object or array is a developer error
	r = e.must(http.StatusBadRequest, http.MethodGet, "/api/v1/web/guest/default/w.json?op=web", "", nil)
	assert.Equal(t, "There was an error processing your request.", r.errMsg(t))

	// application errors unwrap their error field
	r = e.do(http.MethodPost, "/api/v1/web/guest/default/w.http", "", map[string]any{"op": "error", "message": map[string]any{"statusCode": 418, "body": "teapot"}})
	assert.Equal(t, 418, r.status)
	assert.Equal(t, "teapot", string(r.body))
	r = e.do(http.MethodPost, "/api/v1/web/guest/default/w.json", "", map[string]any{"op": "error", "message": map[string]any{"why": "x"}})
	assert.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"why":"x"}`, string(r.body))

	// a crash is "There was an error processing your request."
	r = e.do(http.MethodPost, "/api/v1/web/guest/default/w.json", "", map[string]any{"op": "crash"})
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "There was an error processing your request.", r.errMsg(t))

	e.must(http.StatusNotFound, http.MethodGet, "/api/v1/web/guest/default/hidden.json", "", nil)
	e.must(http.StatusNotFound, http.MethodGet, "/api/v1/web/guest/default/missing.json", "", nil)
	e.must(http.StatusNotFound, http.MethodGet, "/api/v1/web/nobody/default/w.json", "", nil)
	e.must(http.StatusNotFound, http.MethodGet, "/api/v1/web/_/default/w.json", "", nil)

	r = e.do(http.MethodOptions, "/api/v1/web/guest/default/w.json", "", nil, "Access-Control-Request-Headers", "X-Mine")
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "X-Mine", r.header.Get("Access-Control-Allow-Headers"))
}

func TestWebActionRequireWhiskAuth(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "secret", map[string]any{"annotations": webAnnotations(false, kv("require-whisk-auth", "s3cr3t"))})
	e.createAction(guest, "_", "numeric", map[string]any{"annotations": webAnnotations(false, kv("require-whisk-auth", 1234))})
	e.createAction(guest, "_", "users", map[string]any{"annotations": webAnnotations(false, kv("require-whisk-auth", true))})

	assert.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/api/v1/web/guest/default/secret.json", "", nil).status)
	assert.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/api/v1/web/guest/default/secret.json", "", nil, "X-Require-Whisk-Auth", "wrong").status)
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/web/guest/default/secret.json", "", nil, "X-Require-Whisk-Auth", "s3cr3t").status)
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/web/guest/default/numeric.json", "", nil, "X-Require-Whisk-Auth", "1234").status)

	assert.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/api/v1/web/guest/default/users.json", "", nil).status)
	assert.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/api/v1/web/guest/default/users.json", "00000000-0000-0000-0000-000000000000:"+guest[37:], nil).status)
	assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/api/v1/web/guest/default/users.json", alice, nil).status)
}
