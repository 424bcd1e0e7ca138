package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDirRoundTrip(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)

	require.NoError(t, s.Put(ctx, "actions", "guest/pkg/my action", []byte(`{"a":1}`)))
	require.NoError(t, s.Put(ctx, "actions", "guest/b", []byte(`{"b":1}`)))
	require.NoError(t, s.Put(ctx, "actions", "guest/b", []byte(`{"b":2}`)))
	require.NoError(t, s.Put(ctx, "rules", "guest/r", []byte(`{}`)))

	reopened, err := Open(dir)
	require.NoError(t, err)
	all, err := reopened.All(ctx, "actions")
	require.NoError(t, err)
	assert.Equal(t, map[string][]byte{
		"guest/pkg/my action": []byte(`{"a":1}`),
		"guest/b":             []byte(`{"b":2}`),
	}, all)

	require.NoError(t, reopened.Delete(ctx, "actions", "guest/b"))
	require.NoError(t, reopened.Delete(ctx, "actions", "guest/missing"))
	all, err = reopened.All(ctx, "actions")
	require.NoError(t, err)
	assert.Len(t, all, 1)

	none, err := reopened.All(ctx, "triggers")
	require.NoError(t, err)
	assert.Empty(t, none)

	// no temporary files are left behind
	files, err := os.ReadDir(filepath.Join(dir, "actions"))
	require.NoError(t, err)
	assert.Len(t, files, 1)
}

func TestOpenEmptyName(t *testing.T) {
	_, err := Open("")
	require.Error(t, err)
}
