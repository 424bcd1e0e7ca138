package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := run(ctx, config{addr: "127.0.0.1:0", workDir: t.TempDir(), dataDir: t.TempDir(), activationsMax: 10})
	require.NoError(t, err)
}

func TestRunRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	badAuth := filepath.Join(dir, "auth")
	require.NoError(t, os.WriteFile(badAuth, []byte("guest nokey\n"), 0o600))
	badLimits := filepath.Join(dir, "limits.json")
	require.NoError(t, os.WriteFile(badLimits, []byte(`{"default":{"firesPerMinute":-1}}`), 0o600))

	for _, cfg := range []config{
		{addr: "127.0.0.1:0", authFile: badAuth},
		{addr: "127.0.0.1:0", authFile: filepath.Join(dir, "missing")},
		{addr: "127.0.0.1:0", limitsFile: badLimits},
	} {
		assert.Error(t, run(t.Context(), cfg))
	}
}

func TestMergeLimits(t *testing.T) {
	got := mergeLimits(server.Limits{FiresPerMinute: 60, InvocationsPerMinute: 10}, server.Limits{InvocationsPerMinute: 5})
	assert.Equal(t, server.Limits{FiresPerMinute: 60, InvocationsPerMinute: 5}, got)
}
