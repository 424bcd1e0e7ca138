package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

const invokePath = "/api/v1/namespaces/_/actions/"

func TestInvokeBlockingReturnsActivation(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "echo", map[string]any{"parameters": []any{kv("fromAction", "a"), kv("x", 1)}})
	r := e.must(http.StatusOK, http.MethodPost, invokePath+"echo?blocking=true", guest, map[string]any{"x": 2})
	act := r.obj(t)
	id := act["activationId"].(string)
	assert.Len(t, id, 32)
	assert.Equal(t, id, r.header.Get("x-openwhisk-activation-id"))
	assert.Equal(t, "guest", act["namespace"])
	assert.Equal(t, "echo", act["name"])
	assert.Equal(t, "guest", act["subject"])
	assert.Contains(t, act, "duration")
	assert.Contains(t, act, "end")
	resp := act["response"].(map[string]any)
	assert.Equal(t, "success", resp["status"])
	assert.Equal(t, true, resp["success"])
	assert.NotContains(t, resp, "statusCode")
	result := resp["result"].(map[string]any)
	assert.Equal(t, map[string]any{"fromAction": "a", "x": 2.0}, result["params"], "payload overrides action parameters")
	path, _ := annotation(act["annotations"], "path")
	assert.Equal(t, "guest/echo", path)
	kind, _ := annotation(act["annotations"], "kind")
	assert.Equal(t, "go:1.24", kind)
	timeout, _ := annotation(act["annotations"], "timeout")
	assert.Equal(t, false, timeout)

	envs := result["env"].(map[string]any)
	assert.Equal(t, e.url, envs["__OW_API_HOST"], "actions get the server's own URL")
	assert.Equal(t, "guest", envs["__OW_NAMESPACE"])
	assert.Equal(t, "/guest/echo", envs["__OW_ACTION_NAME"])
	assert.Equal(t, id, envs["__OW_ACTIVATION_ID"])
	assert.NotContains(t, envs, "__OW_API_KEY", "provide-api-key defaults to false")

	// the same record is served by the activations API
	stored := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/activations/"+id, guest, nil).obj(t)
	assert.Equal(t, act["response"], stored["response"])
}

func TestInvokeResultOnlyAndNonBlocking(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "echo", nil)
	r := e.must(http.StatusOK, http.MethodPost, invokePath+"echo?blocking=true&result=true", guest, map[string]any{"a": "b"})
	assert.Equal(t, map[string]any{"a": "b"}, r.obj(t)["params"])
	assert.NotEmpty(t, r.header.Get("x-openwhisk-activation-id"))

	r = e.must(http.StatusAccepted, http.MethodPost, invokePath+"echo", guest, nil)
	id := r.obj(t)["activationId"].(string)
	assert.Equal(t, id, r.header.Get("x-openwhisk-activation-id"))
	act := e.activation(guest, "guest", id)
	assert.Equal(t, "success", act["response"].(map[string]any)["status"])
}

func TestInvokeArrayResultIsBare(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "arr", nil)
	for _, q := range []string{"?blocking=true", "?blocking=true&result=true"} {
		r := e.must(http.StatusOK, http.MethodPost, invokePath+"arr"+q, guest, map[string]any{"op": "array"})
		assert.JSONEq(t, `[1,2,3]`, string(r.body))
	}
}

func TestInvokeApplicationError(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "fail", nil)
	r := e.must(http.StatusBadGateway, http.MethodPost, invokePath+"fail?blocking=true", guest, map[string]any{"op": "error", "message": "boom"})
	act := r.obj(t)
	assert.NotContains(t, act, "code", "application errors are activations, not API errors")
	resp := act["response"].(map[string]any)
	assert.Equal(t, "application error", resp["status"])
	assert.Equal(t, false, resp["success"])
	assert.Equal(t, map[string]any{"error": "boom"}, resp["result"])

	r = e.must(http.StatusBadGateway, http.MethodPost, invokePath+"fail?blocking=true&result=true", guest, map[string]any{"op": "error", "message": "boom"})
	assert.JSONEq(t, `{"error":"boom"}`, string(r.body))
}

func TestInvokeCrashIsDeveloperError(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "crash", nil)
	r := e.must(http.StatusBadGateway, http.MethodPost, invokePath+"crash?blocking=true", guest, map[string]any{"op": "crash"})
	resp := r.obj(t)["response"].(map[string]any)
	assert.Equal(t, "action developer error", resp["status"])
	assert.Contains(t, resp["result"].(map[string]any)["error"], "exited unexpectedly")

	// the action still works afterwards (a new process is started)
	r = e.must(http.StatusOK, http.MethodPost, invokePath+"crash?blocking=true&result=true", guest, map[string]any{"op": "echo"})
	assert.Contains(t, r.obj(t), "params")
}

func TestInvokeActionTimeout(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "slow", map[string]any{"limits": map[string]any{"timeout": 200}})
	r := e.must(http.StatusBadGateway, http.MethodPost, invokePath+"slow?blocking=true", guest, map[string]any{"op": "sleep", "ms": 5000})
	act := r.obj(t)
	resp := act["response"].(map[string]any)
	assert.Equal(t, "action developer error", resp["status"])
	assert.Equal(t, "The action exceeded its time limits of 200 milliseconds.", resp["result"].(map[string]any)["error"])
	timeout, _ := annotation(act["annotations"], "timeout")
	assert.Equal(t, true, timeout)
}

func TestInvokeWaitCapAnswers202(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "slow", nil)
	r := e.must(http.StatusAccepted, http.MethodPost, invokePath+"slow?blocking=true&timeout=100", guest, map[string]any{"op": "sleep", "ms": 600})
	id := r.obj(t)["activationId"].(string)
	assert.Equal(t, id, r.header.Get("x-openwhisk-activation-id"))
	// the activation goes on and is recorded
	act := e.activation(guest, "guest", id)
	assert.EqualValues(t, 600, act["response"].(map[string]any)["result"].(map[string]any)["slept"])

	for _, bad := range []string{"0", "60001", "abc"} {
		r := e.must(http.StatusBadRequest, http.MethodPost, invokePath+"slow?blocking=true&timeout="+bad, guest, nil)
		assert.Equal(t, "The query parameter 'timeout' was malformed:\nTimeout must be number of milliseconds up to 60000.", r.errMsg(t))
	}
}

func TestInvokeFinalParametersProtected(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "fin", map[string]any{
		"parameters":  []any{kv("secret", "s"), kv("open", nil)},
		"annotations": []any{kv("final", true)},
	})
	r := e.must(http.StatusBadRequest, http.MethodPost, invokePath+"fin?blocking=true", guest, map[string]any{"secret": "override"})
	assert.Equal(t, "Request defines parameters that are not allowed (e.g., reserved properties).", r.errMsg(t))
	// a parameter without a value may be supplied
	r = e.must(http.StatusOK, http.MethodPost, invokePath+"fin?blocking=true&result=true", guest, map[string]any{"open": 1})
	assert.Equal(t, map[string]any{"secret": "s", "open": 1.0}, r.obj(t)["params"])
}

func TestInvokeProvideAPIKeyAndInitParameters(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "keyed", map[string]any{
		"annotations": []any{kv("provide-api-key", true)},
		"parameters":  []any{map[string]any{"key": "INITVAR", "value": "from-init", "init": true}, kv("normal", 1)},
	})
	r := e.must(http.StatusOK, http.MethodPost, invokePath+"keyed?blocking=true&result=true", guest, nil)
	m := r.obj(t)
	envs := m["env"].(map[string]any)
	assert.Equal(t, guest, envs["__OW_API_KEY"])
	assert.Equal(t, "from-init", envs["INITVAR"], "init parameters are exported to the process")
	assert.Equal(t, map[string]any{"normal": 1.0}, m["params"], "init parameters are not arguments")
}

func TestInvokePayloadLimits(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "echo", nil)
	big := `{"x":"` + strings.Repeat("y", 1<<20) + `"}`
	r := e.must(http.StatusRequestEntityTooLarge, http.MethodPost, invokePath+"echo", guest, []byte(big))
	assert.Equal(t, "Request larger than allowed: 1048584 > 1048576 bytes.", r.errMsg(t))

	r = e.must(http.StatusBadRequest, http.MethodPost, invokePath+"echo", guest, []byte(`[1]`))
	assert.Contains(t, r.errMsg(t), "malformed")
	e.must(http.StatusNotFound, http.MethodPost, invokePath+"missing", guest, nil)
}

func TestInvokeResultTooLarge(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "big", nil)
	r := e.must(http.StatusBadGateway, http.MethodPost, invokePath+"big?blocking=true", guest, map[string]any{"op": "big", "n": 1100000})
	resp := r.obj(t)["response"].(map[string]any)
	assert.Equal(t, "application error", resp["status"])
	assert.True(t, strings.HasPrefix(resp["result"].(map[string]any)["error"].(string),
		"The action produced a response that exceeded the allowed length: 1100011 > 1048576 bytes."), resp["result"])
}

func TestInvokeLogsCaptured(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "logger", nil)
	r := e.must(http.StatusOK, http.MethodPost, invokePath+"logger?blocking=true", guest, map[string]any{"op": "log"})
	id := r.obj(t)["activationId"].(string)
	logs := e.must(http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/activations/"+id+"/logs", guest, nil).obj(t)["logs"].([]any)
	joined, _ := json.Marshal(logs)
	assert.Contains(t, string(joined), "stdout: hello stdout")
	assert.Contains(t, string(joined), "stderr: hello stderr")
}

func TestInvokeThroughPublicPackageRunsAsCaller(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/packages/pub", sys, map[string]any{"publish": true, "parameters": []any{kv("pkg", "p")}})
	e.createAction(sys, "_", "pub/echo", nil)
	r := e.must(http.StatusOK, http.MethodPost, "/api/v1/namespaces/whisk.system/actions/pub/echo?blocking=true", guest, nil)
	act := r.obj(t)
	assert.Equal(t, "guest", act["namespace"], "the activation belongs to the caller")
	path, _ := annotation(act["annotations"], "path")
	assert.Equal(t, "whisk.system/pub/echo", path)
	result := act["response"].(map[string]any)["result"].(map[string]any)
	assert.Equal(t, "guest", result["env"].(map[string]any)["__OW_NAMESPACE"])
	assert.Equal(t, map[string]any{"pkg": "p"}, result["params"])
	e.must(http.StatusNotFound, http.MethodGet, "/api/v1/namespaces/whisk.system/activations/"+act["activationId"].(string), sys, nil)
}

func TestInvokeThrottles(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.NamespaceLimits = map[string]server.Limits{"guest": {InvocationsPerMinute: 2}}
	})
	e.createAction(guest, "_", "echo", nil)
	e.must(http.StatusOK, http.MethodPost, invokePath+"echo?blocking=true", guest, nil)
	e.must(http.StatusOK, http.MethodPost, invokePath+"echo?blocking=true", guest, nil)
	r := e.must(http.StatusTooManyRequests, http.MethodPost, invokePath+"echo?blocking=true", guest, nil)
	assert.Equal(t, "Too many requests in the last minute (count: 3, allowed: 2).", r.errMsg(t))
	// other namespaces are not affected
	e.createAction(alice, "_", "echo", nil)
	e.must(http.StatusOK, http.MethodPost, invokePath+"echo?blocking=true", alice, nil)
}

func TestInvokeConcurrencyThrottle(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.Limits = server.Limits{ConcurrentInvocations: 1}
	})
	e.createAction(guest, "_", "slow", nil)
	r := e.must(http.StatusAccepted, http.MethodPost, invokePath+"slow", guest, map[string]any{"op": "sleep", "ms": 800})
	first := r.obj(t)["activationId"].(string)
	r = e.must(http.StatusTooManyRequests, http.MethodPost, invokePath+"slow", guest, nil)
	assert.Equal(t, "Too many concurrent requests in flight (count: 1, allowed: 1).", r.errMsg(t))
	e.activation(guest, "guest", first)
	e.must(http.StatusAccepted, http.MethodPost, invokePath+"slow", guest, nil)
}

func TestInvokeConcurrentRequests(t *testing.T) {
	e := newEnv(t)
	e.createAction(guest, "_", "echo", nil)
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.do(http.MethodPost, invokePath+"echo?blocking=true&result=true", guest, map[string]any{"i": i}).status
		}()
	}
	wg.Wait()
	for _, s := range statuses {
		require.Equal(t, http.StatusOK, s)
	}
}
