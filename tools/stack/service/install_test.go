package service

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type lockEntry struct {
	Version   string `json:"version,omitempty"`
	Resolved  string `json:"resolved,omitempty"`
	Integrity string `json:"integrity,omitempty"`
	Optional  bool   `json:"optional,omitempty"`
}

func writeLock(t *testing.T, path string, pkgs map[string]lockEntry) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"lockfileVersion": 3, "packages": pkgs})
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func TestNodeModulesMatch(t *testing.T) {
	a := lockEntry{Version: "1.0.0", Resolved: "https://registry.example/a-1.0.0.tgz", Integrity: "sha512-a"}
	b := lockEntry{Version: "2.0.0", Resolved: "https://registry.example/b-2.0.0.tgz", Integrity: "sha512-b"}
	opt := lockEntry{Version: "3.0.0", Integrity: "sha512-o", Optional: true}
	lock := map[string]lockEntry{"": {}, "node_modules/a": a, "node_modules/b": b, "node_modules/opt": opt}
	tests := []struct {
		name      string
		installed map[string]lockEntry // nil = nothing installed
		want      bool
	}{
		{name: "same packages", installed: map[string]lockEntry{"node_modules/a": a, "node_modules/b": b, "node_modules/opt": opt}, want: true},
		{name: "optional package left out", installed: map[string]lockEntry{"node_modules/a": a, "node_modules/b": b}, want: true},
		{name: "package missing", installed: map[string]lockEntry{"node_modules/a": a}, want: false},
		{name: "other version", installed: map[string]lockEntry{"node_modules/a": a, "node_modules/b": {Version: "2.0.1", Resolved: b.Resolved, Integrity: "sha512-c"}}, want: false},
		{name: "extra package", installed: map[string]lockEntry{"node_modules/a": a, "node_modules/b": b, "node_modules/x": a}, want: false},
		{name: "nothing installed", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLock(t, filepath.Join(dir, "package-lock.json"), lock)
			if tc.installed != nil {
				writeLock(t, filepath.Join(dir, "node_modules", ".package-lock.json"), tc.installed)
			}
			got, err := nodeModulesMatch(dir)
			assert.Equal(t, tc.want, got)
			if !tc.want {
				assert.Error(t, err)
			}
		})
	}
}

func TestInstallNodeDepsSkipsWhenUpToDate(t *testing.T) {
	dir := t.TempDir()
	lock := map[string]lockEntry{"node_modules/a": {Version: "1.0.0", Integrity: "sha512-a"}}
	writeLock(t, filepath.Join(dir, "package-lock.json"), lock)
	writeLock(t, filepath.Join(dir, "node_modules", ".package-lock.json"), lock)
	var progress bytes.Buffer
	require.NoError(t, InstallNodeDeps(t.Context(), dir, WithProgress(&progress)))
	assert.Contains(t, progress.String(), "node_modules matches package-lock.json")
}

func TestMinIOBinaryUsesCache(t *testing.T) {
	cache := t.TempDir()
	path := minioPath(cache)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755))
	var progress bytes.Buffer
	got, err := MinIOBinary(t.Context(), WithCacheDir(cache), WithProgress(&progress))
	require.NoError(t, err)
	assert.Equal(t, path, got)
	assert.NotContains(t, progress.String(), "building")
	got, err = MinIOBinaryPath(WithCacheDir(cache))
	require.NoError(t, err)
	assert.Equal(t, path, got)
	assert.Contains(t, path, MinIOVersion, "the cache path names the version")
}

func TestIsPinnedMinIO(t *testing.T) {
	assert.False(t, isPinnedMinIO(os.Args[0]), "a Go binary of another module")
	assert.False(t, isPinnedMinIO(filepath.Join(t.TempDir(), "none")))
	if path, err := MinIOBinaryPath(); err == nil {
		assert.True(t, isPinnedMinIO(path), "the cached build is the pinned version")
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "go.mod"))
	dir, err := NodeDir()
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, "package.json"))
	assert.FileExists(t, filepath.Join(dir, "package-lock.json"))

	assert.Equal(t, ModulePath, modulePath([]byte("// c\nmodule github.com/whiskfeed/whiskfeed\n\ngo 1.26\n")))
	assert.Empty(t, modulePath([]byte("go 1.26\n")))
}
