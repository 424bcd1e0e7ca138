package server_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

func TestBuiltinFeedPackage(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var calls []server.Identity
	feed := func(ctx context.Context, params map[string]any, caller server.Identity) (any, error) {
		mu.Lock()
		calls = append(calls, caller)
		mu.Unlock()
		if params["lifecycleEvent"] == "FAIL" {
			return nil, errors.New("unsupported lifecycleEvent")
		}
		return map[string]any{"got": params}, nil
	}
	require.NoError(t, e.srv.RegisterBuiltin("whisk.system", "alarms", "interval", feed,
		server.WithPublicPackage(),
		server.WithPackageParameter("trigger_payload", ""),
		server.WithAnnotation("feed", true),
		server.WithParameter("isInterval", true)))
	require.NoError(t, e.srv.RegisterBuiltin("whisk.system", "alarms", "alarm", feed, server.WithAnnotation("feed", true)))

	pkg := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/whisk.system/packages/alarms", guest, nil).obj(t)
	assert.Equal(t, true, pkg["publish"])
	assert.Len(t, pkg["feeds"], 2)
	assert.Empty(t, pkg["actions"])

	r := e.must(http.StatusOK, http.MethodPost, "/api/v1/namespaces/whisk.system/actions/alarms/interval?blocking=true", guest,
		map[string]any{"lifecycleEvent": "CREATE", "triggerName": "/_/t", "authKey": guest, "minutes": 5})
	act := r.obj(t)
	assert.Equal(t, "guest", act["namespace"])
	got := act["response"].(map[string]any)["result"].(map[string]any)["got"].(map[string]any)
	assert.Equal(t, map[string]any{"lifecycleEvent": "CREATE", "triggerName": "/_/t", "authKey": guest, "minutes": 5.0,
		"isInterval": true, "trigger_payload": ""}, got)
	mu.Lock()
	assert.Equal(t, "guest", calls[0].Namespace, "built-ins run as the invoker")
	mu.Unlock()

	r = e.must(http.StatusBadGateway, http.MethodPost, "/api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true&result=true", guest,
		map[string]any{"lifecycleEvent": "FAIL"})
	assert.JSONEq(t, `{"error":"unsupported lifecycleEvent"}`, string(r.body))

	// a binding to the built-in package works like any other
	e.must(http.StatusOK, http.MethodPut, pkgPath+"myalarms", guest, map[string]any{"binding": map[string]any{"namespace": "whisk.system", "name": "alarms"}})
	e.must(http.StatusOK, http.MethodPost, "/api/v1/namespaces/_/actions/myalarms/alarm?blocking=true", guest, nil)

	// built-ins are read-only through the API
	e.must(http.StatusForbidden, http.MethodDelete, "/api/v1/namespaces/_/actions/alarms/alarm", sys, nil)
	e.must(http.StatusForbidden, http.MethodPut, "/api/v1/namespaces/_/packages/alarms?overwrite=true", sys, map[string]any{})
}

func TestBuiltinTimeoutAndPanic(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.srv.RegisterBuiltin("guest", "", "slow", func(ctx context.Context, _ map[string]any, _ server.Identity) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, server.WithTimeout(150*time.Millisecond)))
	require.NoError(t, e.srv.RegisterBuiltin("guest", "", "panics", func(context.Context, map[string]any, server.Identity) (any, error) {
		panic("boom")
	}))
	r := e.must(http.StatusBadGateway, http.MethodPost, invokePath+"slow?blocking=true&result=true", guest, nil)
	assert.JSONEq(t, `{"error":"The action exceeded its time limits of 150 milliseconds."}`, string(r.body))
	r = e.must(http.StatusBadGateway, http.MethodPost, invokePath+"panics?blocking=true", guest, nil)
	assert.Equal(t, "action developer error", r.obj(t)["response"].(map[string]any)["status"])
}

func TestRegisterBuiltinErrors(t *testing.T) {
	e := newEnv(t)
	noop := func(context.Context, map[string]any, server.Identity) (any, error) { return map[string]any{}, nil }
	assert.Error(t, e.srv.RegisterBuiltin("nobody", "p", "a", noop), "unknown namespace")
	assert.Error(t, e.srv.RegisterBuiltin("guest", "default", "a", noop), "reserved package")
	assert.Error(t, e.srv.RegisterBuiltin("guest", "p", "bad name ", noop))
	assert.Error(t, e.srv.RegisterBuiltin("guest", "p", "a", nil))
	e.createAction(guest, "_", "taken", nil)
	assert.ErrorIs(t, e.srv.RegisterBuiltin("guest", "", "taken", noop), server.ErrBuiltinConflict)
}
