package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/deploy"
)

// lineOf returns the 1-based line of the first line of text containing s.
func lineOf(t *testing.T, text, s string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in manifest", s)
	return 0
}

func TestDeployRejectsBadManifests(t *testing.T) {
	const head = "packages:\n  p:\n"
	tests := []struct {
		name     string
		manifest string
		env      map[string]string
		key      string
		at       string // text on the reported line
		line     int    // the reported line, when at is not unique
		msg      string // part of the message
	}{
		{
			name:     "unknown action key",
			manifest: head + "    actions:\n      a:\n        function: a.zip\n        runtime: go:1.24\n        memory: 256\n",
			key:      "memory", at: "memory:", msg: "unknown key",
		},
		{
			name:     "missing runtime for a zip",
			manifest: head + "    actions:\n      a:\n        function: a.zip\n",
			key:      "runtime", at: "a:", msg: "required for a zip",
		},
		{
			name:     "missing runtime for a directory",
			manifest: head + "    actions:\n      a:\n        function: dir\n",
			key:      "runtime", at: "a:", msg: "required for a zip",
		},
		{
			name: "required input empty",
			manifest: head + "    inputs:\n      url: $URL\n      password:\n        type: string\n        value: $PASSWORD\n" +
				"        required: true\n",
			env: map[string]string{"URL": "http://x"},
			key: "inputs.password", at: "password:", msg: "required input without value",
		},
		{
			name:     "required action input empty",
			manifest: head + "    actions:\n      a:\n        function: a.zip\n        runtime: go:1.24\n        inputs:\n          token: {type: string, required: true}\n",
			key:      "inputs.token", at: "token:", msg: "missing: token",
		},
		{
			name:     "missing function file",
			manifest: head + "    actions:\n      a:\n        function: build/missing.zip\n        runtime: go:1.24\n",
			key:      "function", at: "function:", msg: "does not exist",
		},
		{
			name:     "missing function file under location",
			manifest: head + "    actions:\n      a:\n        location: nowhere\n        runtime: go:1.24\n",
			key:      "location", at: "location:", msg: "does not exist",
		},
		{
			name:     "no function",
			manifest: head + "    actions:\n      a:\n        runtime: go:1.24\n",
			key:      "function", at: "a:", msg: "required",
		},
		{
			name:     "unsupported package key",
			manifest: head + "    sequences:\n      s:\n        actions: a,b\n",
			key:      "sequences", at: "sequences:", msg: "not supported by localwhisk deploy",
		},
		{
			name:     "rule annotations are not supported",
			manifest: head + "    rules:\n      r:\n        trigger: t\n        action: a\n        annotations:\n          x: 1\n",
			key:      "annotations", at: "annotations:", msg: "not supported",
		},
		{
			name:     "unknown top-level key",
			manifest: "package:\n  p: {}\n",
			key:      "package", at: "package:", msg: "expected one of: packages, project",
		},
		{
			name:     "bad web value",
			manifest: head + "    actions:\n      a:\n        function: a.zip\n        runtime: go:1.24\n        web: maybe\n",
			key:      "web", at: "web:", msg: "expected true, yes, raw, false or no",
		},
		{
			name:     "bad web-export value",
			manifest: head + "    actions:\n      a:\n        function: a.zip\n        runtime: go:1.24\n        web-export: always\n",
			key:      "web-export", at: "web-export:", msg: "expected true",
		},
		{
			name:     "unknown input type",
			manifest: head + "    inputs:\n      n:\n        type: number\n        value: 3\n",
			key:      "inputs.n", at: "n:", msg: `type "number"`,
		},
		{
			name:     "integer input that is not an integer",
			manifest: head + "    inputs:\n      n:\n        type: integer\n        value: many\n",
			key:      "inputs.n", at: "n:", msg: "not an integer",
		},
		{
			name:     "json input that is not JSON",
			manifest: head + "    inputs:\n      j:\n        type: json\n        value: '{oops'\n",
			key:      "inputs.j", at: "j:", msg: "not valid JSON",
		},
		{
			name:     "unknown input key",
			manifest: head + "    inputs:\n      n:\n        type: integer\n        vaule: 3\n",
			key:      "vaule", at: "vaule:", msg: "unknown key",
		},
		{
			name:     "github dependency",
			manifest: head + "    dependencies:\n      d:\n        location: github.com/apache/openwhisk-test/packages/helloworlds\n",
			key:      "location", at: "location:", msg: "expected /namespace/package",
		},
		{
			name:     "rule without action",
			manifest: head + "    rules:\n      r:\n        trigger: t\n",
			key:      "action", at: "r:", msg: "required",
		},
		{
			name:     "timeout too short",
			manifest: head + "    actions:\n      a:\n        function: a.zip\n        runtime: go:1.24\n        limits:\n          timeout: 50\n",
			key:      "limits.timeout", at: "timeout:", msg: "at least 100",
		},
		{
			name:     "unknown limit",
			manifest: head + "    actions:\n      a:\n        function: a.zip\n        runtime: go:1.24\n        limits:\n          codeSize: 5\n",
			key:      "codeSize", at: "codeSize:", msg: "not supported",
		},
		{
			name: "trigger defined in two packages",
			manifest: "packages:\n  p:\n    triggers:\n      t:\n        inputs: {a: 1}\n" +
				"  q:\n    triggers:\n      t: {}\n",
			at: "      t: {}", msg: "already defined on line 4",
		},
		{
			name:     "key given twice",
			manifest: head + "    public: true\n    public: false\n",
			key:      "public", at: "public: false", msg: "given twice",
		},
		{
			name:     "packages both under project and top level",
			manifest: "project:\n  packages:\n    p: {}\npackages:\n  q: {}\n",
			key:      "packages", line: 4, msg: "keep one",
		},
		{
			name:     "no packages",
			manifest: "project:\n  name: x\n",
			key:      "packages", line: 1, msg: "no packages",
		},
		{
			name:     "feed given as annotation",
			manifest: head + "    triggers:\n      t:\n        annotations:\n          feed: /whisk.system/alarms/alarm\n",
			key:      "annotations.feed", at: "feed:", msg: "feed key",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeWhisk(t)
			dir := t.TempDir()
			path := filepath.Join(dir, "manifest.yaml")
			writeFile(t, path, []byte(tc.manifest), 0o644)
			writeFile(t, filepath.Join(dir, "a.zip"), makeZip(t, "x"), 0o644)
			writeFile(t, filepath.Join(dir, "dir", "exec"), []byte("x"), 0o755)

			err := deploy.Deploy(t.Context(), deploy.Options{
				ManifestPath: path, APIHost: f.srv.URL, AuthKey: testKey,
				Env: func(k string) string { return tc.env[k] },
			})

			require.ErrorIs(t, err, deploy.ErrInvalidManifest)
			var me *deploy.ManifestError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, tc.key, me.Key, "error: %v", err)
			want := tc.line
			if tc.at != "" {
				want = lineOf(t, tc.manifest, tc.at)
			}
			assert.Equal(t, want, me.Line, "error: %v", err)
			assert.Contains(t, err.Error(), tc.msg)
			assert.Contains(t, err.Error(), path)
			assert.Empty(t, f.requests(), "a bad manifest is rejected before any request")
		})
	}
}

func TestDeployRejectsRuntimeTheServerLacks(t *testing.T) {
	f := newFakeWhisk(t)
	dir := t.TempDir()
	manifest := "packages:\n  p:\n    actions:\n      a:\n        function: a.zip\n        runtime: go:1.21\n"
	path := filepath.Join(dir, "manifest.yaml")
	writeFile(t, path, []byte(manifest), 0o644)
	writeFile(t, filepath.Join(dir, "a.zip"), makeZip(t, "x"), 0o644)

	err := deploy.Deploy(t.Context(), deploy.Options{ManifestPath: path, APIHost: f.srv.URL, AuthKey: testKey})

	var me *deploy.ManifestError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, "runtime", me.Key)
	assert.Equal(t, 6, me.Line)
	assert.Contains(t, err.Error(), "go:1.22, go:1.24, go:default", "deprecated kinds are not offered")
	assert.Equal(t, []string{"GET /"}, lines(f.requests()))
}

func TestDeployDefaultPackageAndRelativeFeed(t *testing.T) {
	f := newFakeWhisk(t)
	dir := t.TempDir()
	manifest := `packages:
  default:
    actions:
      hello:
        function: hello.zip
        runtime: go:default
        main: Main
        version: 2.0.0
    triggers:
      tick:
        source: my-alarms/alarm
        inputs:
          cron: "* * * * *"
    rules:
      hello-tick:
        trigger: tick
        action: hello
`
	path := filepath.Join(dir, "manifest.yaml")
	writeFile(t, path, []byte(manifest), 0o644)
	writeFile(t, filepath.Join(dir, "hello.zip"), makeZip(t, "x"), 0o644)

	require.NoError(t, deploy.Deploy(t.Context(), deploy.Options{ManifestPath: path, APIHost: f.srv.URL, AuthKey: testKey}))

	reqs := f.requests()
	require.Equal(t, []string{
		"GET /",
		"PUT " + acts + "hello?overwrite=true",
		"GET " + trigs + "tick",
		"PUT " + trigs + "tick?overwrite=true",
		"POST " + acts + "my-alarms/alarm?blocking=true&result=false",
		"PUT " + rulesURL + "hello-tick?overwrite=true",
		"POST " + rulesURL + "hello-tick",
	}, lines(reqs), "no package entity for default; a feed without namespace is invoked in the configured one")
	body, _ := decodeAction(t, reqs[1])
	assert.Equal(t, jsonValue(t, `{"publish":false,"version":"2.0.0","exec":{"kind":"go:default","code":"<code>","main":"Main"}}`), body)
	assert.Equal(t, jsonValue(t, `{"name":"tick","publish":true,"annotations":[{"key":"feed","value":"my-alarms/alarm"}]}`), reqs[3].body(t))
	assert.Equal(t, "/_/hello", reqs[5].body(t)["action"])
}

func TestDeployChecksOptions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "manifest.yaml")
	require.NoError(t, os.WriteFile(path, []byte("packages:\n  p: {}\n"), 0o644))
	tests := []struct {
		name string
		opts deploy.Options
		want string
	}{
		{name: "no apihost", opts: deploy.Options{ManifestPath: path, AuthKey: testKey}, want: "apihost"},
		{name: "no auth", opts: deploy.Options{ManifestPath: path, APIHost: "http://127.0.0.1:1"}, want: "auth"},
		{name: "malformed auth", opts: deploy.Options{ManifestPath: path, APIHost: "http://127.0.0.1:1", AuthKey: "nocolon"}, want: "uuid:key"},
		{name: "no manifest", opts: deploy.Options{ManifestPath: filepath.Join(dir, "none.yaml"), APIHost: "http://127.0.0.1:1", AuthKey: testKey}, want: "read manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := deploy.Deploy(t.Context(), tc.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "nocolon")
			err = deploy.Undeploy(t.Context(), tc.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
