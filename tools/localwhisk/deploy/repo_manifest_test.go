package deploy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/deploy"
)

// TestRepositoryManifestSummaries deploys the repository's manifest.yaml and
// checks the annotations `wsk package get … --summary` and `wsk action get …
// --summary` read: a description, and for the feed actions a parameters
// annotation that is an array of {name, …} objects. The CLI ignores a
// parameters annotation that is a string (it then shows "none defined"), and
// wskdeploy, like localwhisk deploy, sends a quoted JSON text as a string.
func TestRepositoryManifestSummaries(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "..", "manifest.yaml"))
	require.NoError(t, err)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "manifest.yaml")
	writeFile(t, manifest, src, 0o644)
	for _, name := range []string{"changes", "notifications", "lifecycle", "poll", "hook", "health"} {
		writeFile(t, filepath.Join(dir, "dist", name+".zip"), makeZip(t, "\x7fELF "+name), 0o644)
	}
	env := map[string]string{
		"WHISKFEED_COUCHDB_URL":    "http://127.0.0.1:5984",
		"WHISKFEED_ENCRYPTION_KEY": encryptionKey,
	}
	f := newFakeWhisk(t)
	require.NoError(t, deploy.Deploy(t.Context(), deploy.Options{
		ManifestPath: manifest,
		APIHost:      f.srv.URL,
		AuthKey:      testKey,
		Env:          func(k string) string { return env[k] },
		RetryDelay:   1,
	}))

	byLine := map[string]rec{}
	for _, r := range f.requests() {
		byLine[r.line()] = r
	}
	annotations := func(t *testing.T, line string) map[string]any {
		t.Helper()
		r, ok := byLine[line]
		require.True(t, ok, "request %s", line)
		out := map[string]any{}
		anns, _ := r.body(t)["annotations"].([]any)
		for _, a := range anns {
			kv := a.(map[string]any)
			out[kv["key"].(string)] = kv["value"]
		}
		return out
	}

	pkg := annotations(t, "PUT "+pkgs+"s3-trigger-feed?overwrite=true")
	assert.IsType(t, "", pkg["description"], "public package description")
	assert.NotEmpty(t, pkg["description"])

	tests := []struct {
		feed     string
		required []string
		some     []string
	}{
		{feed: "changes", required: []string{"bucket", "s3_access_key_id", "s3_secret_access_key"}, some: []string{"interval", "cron", "events"}},
		{feed: "notifications", required: []string{"bucket", "s3_access_key_id", "s3_secret_access_key"}, some: []string{"events", "reconcile_interval"}},
	}
	for _, tc := range tests {
		t.Run(tc.feed, func(t *testing.T) {
			ann := annotations(t, "PUT "+acts+"s3-trigger-feed/"+tc.feed+"?overwrite=true")
			assert.Equal(t, true, ann["feed"])
			assert.NotEmpty(t, ann["description"])
			params, ok := ann["parameters"].([]any)
			require.True(t, ok, "parameters annotation must be a JSON array, got %T", ann["parameters"])
			required := map[string]bool{}
			for _, p := range params {
				obj, ok := p.(map[string]any)
				require.True(t, ok, "each parameter must be an object, got %T", p)
				name, ok := obj["name"].(string)
				require.True(t, ok, "parameter without a name: %v", obj)
				required[name] = obj["required"] == true
			}
			for _, n := range tc.required {
				assert.True(t, required[n], "%s is listed as required", n)
			}
			for _, n := range tc.some {
				v, listed := required[n]
				assert.True(t, listed, "%s is listed", n)
				assert.False(t, v, "%s is optional", n)
			}
		})
	}
}
