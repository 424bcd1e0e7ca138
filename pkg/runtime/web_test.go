package runtime_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// result encodes a handler result as the runtime would put it on the wire.
func result(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func TestWebRequest(t *testing.T) {
	tests := []struct {
		name   string
		params string
		want   runtime.WebRequest
	}{
		{
			name: "non-raw JSON body merged",
			params: `{"__ow_method":"post","__ow_headers":{"Content-Type":"application/json","x-a":"1"},"__ow_path":"/p",` +
				`"__ow_user":"guest","bucket":"b","n":2,"__ow_future":"ignored"}`,
			want: runtime.WebRequest{Method: "POST", Path: "/p", User: "guest",
				Headers: map[string]string{"content-type": "application/json", "x-a": "1"},
				Params:  map[string]any{"bucket": "b", "n": 2.0}},
		},
		{
			name:   "non-raw text body",
			params: `{"__ow_method":"put","__ow_headers":{"content-type":"text/plain; charset=utf-8"},"__ow_path":"","__ow_body":"hi"}`,
			want: runtime.WebRequest{Method: "PUT", Headers: map[string]string{"content-type": "text/plain; charset=utf-8"},
				Body: []byte("hi"), Params: map[string]any{}},
		},
		{
			name:   "binary body is base64",
			params: `{"__ow_method":"post","__ow_headers":{"content-type":"image/png"},"__ow_body":"` + b64("\x89PNG\x00") + `"}`,
			want: runtime.WebRequest{Method: "POST", Headers: map[string]string{"content-type": "image/png"},
				Body: []byte("\x89PNG\x00"), Params: map[string]any{}},
		},
		{
			name:   "raw JSON body as base64",
			params: `{"__ow_method":"post","__ow_headers":{"content-type":"application/json"},"__ow_query":"a=1","__ow_body":"` + b64(`{"k":"v"}`) + `"}`,
			want: runtime.WebRequest{Method: "POST", Query: "a=1", Headers: map[string]string{"content-type": "application/json"},
				Body: []byte(`{"k":"v"}`), Params: map[string]any{}},
		},
		{
			name:   "raw JSON body as text",
			params: `{"__ow_method":"post","__ow_headers":{"content-type":"application/cloudevents+json"},"__ow_query":"","__ow_body":"{\"k\":\"v\"}"}`,
			want: runtime.WebRequest{Method: "POST", Headers: map[string]string{"content-type": "application/cloudevents+json"},
				Body: []byte(`{"k":"v"}`), Params: map[string]any{}},
		},
		{
			name:   "raw XML body (S3 style) as text",
			params: `{"__ow_method":"post","__ow_headers":{"content-type":"application/xml"},"__ow_query":"","__ow_body":"<a/>"}`,
			want: runtime.WebRequest{Method: "POST", Headers: map[string]string{"content-type": "application/xml"},
				Body: []byte("<a/>"), Params: map[string]any{}},
		},
		{
			name:   "no content type: base64 when it decodes",
			params: `{"__ow_method":"post","__ow_headers":{},"__ow_body":"` + b64("\x00\x01") + `"}`,
			want:   runtime.WebRequest{Method: "POST", Headers: map[string]string{}, Body: []byte("\x00\x01"), Params: map[string]any{}},
		},
		{
			name:   "not called over HTTP",
			params: `{"bucket":"b"}`,
			want:   runtime.WebRequest{Headers: map[string]string{}, Params: map[string]any{"bucket": "b"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *runtime.WebRequest
			h := runtime.Web(func(_ context.Context, r *runtime.WebRequest) (*runtime.WebResponse, error) {
				got = r
				return nil, nil
			})
			res, err := h.Invoke(t.Context(), json.RawMessage(tc.params))
			require.NoError(t, err)
			assert.Equal(t, map[string]any{"statusCode": 204.0}, result(t, res))
			require.NotNil(t, got)
			assert.Equal(t, tc.want, *got)
		})
	}
}

func TestWebRequestErrors(t *testing.T) {
	tests := []struct {
		name   string
		params string
		want   string
	}{
		{"headers not a map", `{"__ow_headers":["a"]}`, `invalid parameter "__ow_headers"`},
		{"method not a string", `{"__ow_method":1}`, `invalid parameter "__ow_method"`},
		{"bad base64 for binary type", `{"__ow_headers":{"content-type":"application/octet-stream"},"__ow_body":"%%%"}`,
			`invalid parameter "__ow_body": expected base64 for content type "application/octet-stream"`},
		{"params not an object", `[1,2]`, "decode web request: expected parameters as a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			h := runtime.Web(func(context.Context, *runtime.WebRequest) (*runtime.WebResponse, error) {
				called = true
				return nil, nil
			})
			res, err := h.Invoke(t.Context(), json.RawMessage(tc.params))
			require.NoError(t, err, "errors become responses")
			got := result(t, res)
			assert.False(t, called)
			assert.Equal(t, 400.0, got["statusCode"])
			body, _ := got["body"].(map[string]any)
			assert.Contains(t, body["error"], tc.want)
		})
	}
}

func TestWebResponse(t *testing.T) {
	tests := []struct {
		name string
		resp *runtime.WebResponse
		err  error
		want string
	}{
		{"nil", nil, nil, `{"statusCode":204}`},
		{"status defaults to 200", &runtime.WebResponse{Body: []byte("ok")}, nil, `{"statusCode":200,"body":"ok"}`},
		{"empty body", &runtime.WebResponse{StatusCode: 202}, nil, `{"statusCode":202}`},
		{"text", &runtime.WebResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: []byte("héllo")}, nil,
			`{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"héllo"}`},
		{"JSON object stays an object", &runtime.WebResponse{Headers: map[string]string{"content-type": "application/json"}, Body: []byte(`{"a":[1]}`)}, nil,
			`{"statusCode":200,"headers":{"content-type":"application/json"},"body":{"a":[1]}}`},
		{"JSON array as text", &runtime.WebResponse{Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(`[1]`)}, nil,
			`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"[1]"}`},
		{"binary type is base64", &runtime.WebResponse{Headers: map[string]string{"Content-Type": "image/png"}, Body: []byte("\x89PNG")}, nil,
			`{"statusCode":200,"headers":{"Content-Type":"image/png"},"body":"` + b64("\x89PNG") + `"}`},
		{"untyped binary gets octet-stream", &runtime.WebResponse{Body: []byte{0xff, 0xfe}}, nil,
			`{"statusCode":200,"headers":{"Content-Type":"application/octet-stream"},"body":"//4="}`},
		{"invalid UTF-8 with a text type", &runtime.WebResponse{Headers: map[string]string{"Content-Type": "text/plain"}, Body: []byte{0xff}}, nil,
			`{"statusCode":500,"headers":{"Content-Type":"application/json"},"body":{"error":"encode web response: body is not valid UTF-8 for content type \"text/plain\""}}`},
		{"error with status", nil, runtime.Errorf(http.StatusUnauthorized, "bad token"),
			`{"statusCode":401,"headers":{"Content-Type":"application/json"},"body":{"error":"bad token"}}`},
		{"plain error", nil, errors.New("store record: conflict"),
			`{"statusCode":500,"headers":{"Content-Type":"application/json"},"body":{"error":"store record: conflict"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := runtime.Web(func(context.Context, *runtime.WebRequest) (*runtime.WebResponse, error) { return tc.resp, tc.err })
			res, err := h.Invoke(t.Context(), json.RawMessage(`{"__ow_method":"get"}`))
			require.NoError(t, err)
			b, err := json.Marshal(res)
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(b))
		})
	}
}

func TestWebDecodeParams(t *testing.T) {
	var p struct {
		Bucket   string `json:"bucket"`
		Interval int    `json:"interval"`
	}
	r := &runtime.WebRequest{Params: map[string]any{"bucket": "b", "interval": 5.0}}
	require.NoError(t, r.DecodeParams(&p))
	assert.Equal(t, "b", p.Bucket)
	assert.Equal(t, 5, p.Interval)

	r.Params["interval"] = "often"
	err := r.DecodeParams(&p)
	var rerr *runtime.Error
	require.ErrorAs(t, err, &rerr)
	assert.Equal(t, http.StatusBadRequest, rerr.Status)
	assert.Contains(t, err.Error(), `invalid parameter "interval"`)
}

func TestJSONResponse(t *testing.T) {
	resp, err := runtime.JSONResponse(http.StatusCreated, map[string]string{"id": "x"})
	require.NoError(t, err)
	assert.Equal(t, &runtime.WebResponse{StatusCode: 201, Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"id":"x"}`)}, resp)
	_, err = runtime.JSONResponse(http.StatusOK, func() {})
	require.Error(t, err)
}
