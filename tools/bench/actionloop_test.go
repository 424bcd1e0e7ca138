package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

// TestHelperAction is not a test: the tests below run the test binary with
// "-test.run=^TestHelperAction$ -- action" as an actionloop action that
// echoes its parameters and the activation's action name.
func TestHelperAction(t *testing.T) {
	if len(os.Args) < 2 || os.Args[len(os.Args)-2] != "--" || os.Args[len(os.Args)-1] != "action" {
		return
	}
	runtime.Start(runtime.HandlerFunc(func(ctx context.Context, params json.RawMessage) (any, error) {
		act, _ := runtime.ActivationFrom(ctx)
		return map[string]any{"params": params, "action": act.ActionName}, nil
	}))
	os.Exit(0)
}

func TestStartActionInvoke(t *testing.T) {
	exe := writeHelper(t)
	p, err := startAction(exe, actionEnv(), devNull(t), 10*time.Second)
	require.NoError(t, err)
	assert.Positive(t, p.ready)

	raw, err := p.invoke(map[string]any{"record": "trigger:a/b"}, map[string]string{"action_name": "/whisk.system/pkg/poll"}, 5*time.Second)
	require.NoError(t, err)
	var res struct {
		Params map[string]string `json:"params"`
		Action string            `json:"action"`
	}
	require.NoError(t, json.Unmarshal(raw, &res))
	assert.Equal(t, "trigger:a/b", res.Params["record"])
	assert.Equal(t, "/whisk.system/pkg/poll", res.Action)

	peak, rss, err := p.memory()
	require.NoError(t, err)
	assert.Positive(t, rss)
	assert.GreaterOrEqual(t, peak, rss, "the peak is at least the current resident size")
	require.NoError(t, p.close(), "the action exits when its stdin closes")
}

func TestStartActionNoAck(t *testing.T) {
	_, err := startAction("/bin/true", nil, devNull(t), 2*time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read the ack")
}

// writeHelper returns a script that runs this test binary as the helper
// action (the actionloop starts an exec without arguments).
func writeHelper(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	path := t.TempDir() + "/exec"
	script := "#!/bin/sh\nexec '" + self + "' -test.run='^TestHelperAction$' -- action\n"
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path
}

func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func TestStatusKB(t *testing.T) {
	status := "Name:\texec\nVmPeak:\t  12345 kB\nVmHWM:\t   40765 kB\nVmRSS:\t   37320 kB\n"
	assert.Equal(t, int64(40765), statusKB(status, "VmHWM"))
	assert.Equal(t, int64(37320), statusKB(status, "VmRSS"))
	assert.Equal(t, int64(0), statusKB(status, "VmSwap"))
}
