package whisk_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

const actID = "5f0e3e3c1d2b4a5e9f0e3e3c1d2b4a5e"

func TestInvokeModes(t *testing.T) {
	const route = "POST /api/v1/namespaces/_/actions/pkg/a"
	params := map[string]any{"name": "world", "n": 2}

	t.Run("blocking result", func(t *testing.T) {
		f := newFake(t)
		f.on(route, withActivationID(actID, reply(http.StatusOK, map[string]any{"greeting": "hello world"})))
		got, err := f.client(t).InvokeResult(t.Context(), whisk.MustParseQName("pkg/a"), params)
		require.NoError(t, err)
		assert.JSONEq(t, `{"greeting":"hello world"}`, string(got))
		r := f.requests()[0]
		assert.Equal(t, "true", r.Query.Get("blocking"))
		assert.Equal(t, "true", r.Query.Get("result"))
		assert.Equal(t, map[string]any{"name": "world", "n": float64(2)}, r.bodyMap(t))
	})

	t.Run("blocking activation", func(t *testing.T) {
		f := newFake(t)
		f.on(route, withActivationID(actID, reply(http.StatusOK, activation(actID, whisk.StatusSuccess, map[string]any{"x": 1}))))
		a, err := f.client(t).InvokeBlocking(t.Context(), whisk.MustParseQName("pkg/a"), params)
		require.NoError(t, err)
		assert.Equal(t, actID, a.ActivationID)
		assert.True(t, a.Response.Success)
		assert.Equal(t, whisk.StatusSuccess, a.Response.Status)
		assert.Equal(t, int64(42), a.Duration)
		var res struct{ X int }
		require.NoError(t, a.Response.Decode(&res))
		assert.Equal(t, 1, res.X)
		kind, _ := a.Annotations.LookupString("kind")
		assert.Equal(t, "go:1.22", kind)
		r := f.requests()[0]
		assert.Equal(t, "true", r.Query.Get("blocking"))
		assert.Equal(t, "false", r.Query.Get("result"))
	})

	t.Run("blocking activation with array result", func(t *testing.T) {
		f := newFake(t)
		f.on(route, withActivationID(actID, reply(http.StatusOK, []int{1, 2})))
		a, err := f.client(t).InvokeBlocking(t.Context(), whisk.MustParseQName("pkg/a"), nil)
		require.NoError(t, err)
		assert.Equal(t, actID, a.ActivationID)
		assert.JSONEq(t, `[1,2]`, string(a.Response.Result))
		assert.JSONEq(t, `{}`, string(f.requests()[0].Body), "nil params send an empty object")
	})

	t.Run("non-blocking", func(t *testing.T) {
		f := newFake(t)
		f.on(route, withActivationID(actID, reply(http.StatusAccepted, map[string]any{"activationId": actID})))
		id, err := f.client(t).InvokeAsync(t.Context(), whisk.MustParseQName("pkg/a"), params)
		require.NoError(t, err)
		assert.Equal(t, actID, id)
		r := f.requests()[0]
		assert.Equal(t, "false", r.Query.Get("blocking"))
	})

	t.Run("blocking past the wait cap", func(t *testing.T) {
		for name, call := range map[string]func(*whisk.Client) error{
			"result": func(c *whisk.Client) error {
				_, err := c.InvokeResult(t.Context(), whisk.MustParseQName("pkg/a"), nil)
				return err
			},
			"activation": func(c *whisk.Client) error {
				_, err := c.InvokeBlocking(t.Context(), whisk.MustParseQName("pkg/a"), nil)
				return err
			},
		} {
			t.Run(name, func(t *testing.T) {
				f := newFake(t)
				f.on(route, withActivationID(actID, reply(http.StatusAccepted, map[string]any{"activationId": actID})))
				err := call(f.client(t))
				var pending *whisk.PendingError
				require.ErrorAs(t, err, &pending)
				assert.Equal(t, actID, pending.ActivationID)
				assert.Equal(t, http.StatusAccepted, whisk.HTTPStatus(err))
				assert.Len(t, f.requests(), 1)
			})
		}
	})
}

func TestInvokeFailures(t *testing.T) {
	tests := []struct {
		name       string
		result     bool
		handler    http.HandlerFunc
		wantAction bool // *ActionError, else *APIError
		wantStatus int
		wantMsg    string
		wantKind   string
	}{
		{
			name:       "application error activation",
			handler:    reply(http.StatusBadGateway, activation(actID, whisk.StatusApplicationError, map[string]any{"error": "bucket not found"})),
			wantAction: true, wantStatus: 502, wantMsg: "bucket not found", wantKind: whisk.StatusApplicationError,
		},
		{
			name:       "developer error activation",
			handler:    reply(http.StatusBadGateway, activation(actID, whisk.StatusDeveloperError, map[string]any{"error": "The action did not produce a valid response and exited unexpectedly."})),
			wantAction: true, wantStatus: 502, wantMsg: "The action did not produce a valid response and exited unexpectedly.", wantKind: whisk.StatusDeveloperError,
		},
		{
			name:       "application error result only",
			result:     true,
			handler:    withActivationID(actID, reply(http.StatusBadGateway, map[string]any{"error": map[string]any{"statusCode": 400, "body": "bad"}})),
			wantAction: true, wantStatus: 502, wantMsg: `{"body":"bad","statusCode":400}`,
		},
		{
			name:       "whisk internal error activation",
			handler:    reply(http.StatusInternalServerError, activation(actID, whisk.StatusInternalError, map[string]any{"error": "internal"})),
			wantAction: true, wantStatus: 500, wantMsg: "internal", wantKind: whisk.StatusInternalError,
		},
		{
			name:       "502 with code is an API error",
			handler:    apiError(http.StatusBadGateway, "upstream failed"),
			wantStatus: 502, wantMsg: "upstream failed",
		},
		{
			name:       "unknown action",
			handler:    apiError(http.StatusNotFound, "The requested resource does not exist."),
			wantStatus: 404, wantMsg: "The requested resource does not exist.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.on("POST /api/v1/namespaces/_/actions/a", tc.handler)
			c := f.client(t)
			var err error
			if tc.result {
				_, err = c.InvokeResult(t.Context(), whisk.QName{Name: "a"}, nil)
			} else {
				_, err = c.InvokeBlocking(t.Context(), whisk.QName{Name: "a"}, nil)
			}
			assert.Equal(t, tc.wantStatus, whisk.HTTPStatus(err))
			assert.Len(t, f.requests(), 1, "invocation failures are not retried")
			if !tc.wantAction {
				var apiErr *whisk.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tc.wantMsg, apiErr.Message)
				return
			}
			var actErr *whisk.ActionError
			require.ErrorAs(t, err, &actErr)
			assert.Equal(t, actID, actErr.ActivationID)
			assert.Equal(t, tc.wantMsg, actErr.Message())
			assert.Equal(t, tc.wantKind, actErr.Status)
			if !tc.result {
				require.NotNil(t, actErr.Activation)
				assert.False(t, actErr.Activation.Response.Success)
			}
			var res map[string]any
			require.NoError(t, json.Unmarshal(actErr.Result, &res))
			assert.Contains(t, res, "error")
		})
	}
}
