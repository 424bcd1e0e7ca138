package deploy_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/deploy"
)

// whiskfeedManifest has the shape of whiskfeed's manifest: a public package
// with inputs from the environment and a feed action, a private package with
// zip actions (one a directory), web: true and raw, annotations, a binding on
// /whisk.system/alarms, a feed trigger with inputs, a plain trigger and a rule.
const whiskfeedManifest = `# whiskfeed (test copy)
project:
  name: whiskfeed
  packages:
    s3-trigger-feed:
      version: 1.2.0
      license: Apache-2.0
      public: true
      inputs:
        web_package: $WEB_PACKAGE
        default_interval: 1
      actions:
        changes:
          function: build/changes.zip
          runtime: go:1.24
          annotations:
            feed: true
            description: polls a bucket
    s3-trigger-feed-web:
      license: Apache-2.0
      inputs:
        couchdb_url:
          type: string
          value: ${COUCH_URL}
          required: true
        encryption_key:
          type: string
          default: $ENCRYPTION_KEY
          required: true
          description: encrypts secrets at rest
        max_keys:
          type: integer
          value: 1000
        notify: json
      dependencies:
        whiskfeed-alarms:
          location: /whisk.system/alarms
          inputs:
            trigger_payload: ""
      actions:
        lifecycle:
          function: build/lifecycle.zip
          runtime: go:1.24
          web: true
        poll:
          function: build/poll
          runtime: go:1.24
          annotations:
            provide-api-key: true
          limits:
            timeout: 300000
            memorySize: 256
        hook:
          location: build/hook.zip
          runtime: go:1.24
          web: raw
          inputs:
            webhook_token: $WEBHOOK_TOKEN
      triggers:
        whiskfeed-tick:
          feed: /whisk.system/alarms/interval
          inputs:
            minutes: 1
            trigger_payload:
              type: json
              value:
                source: $SOURCE_NAME
        uploads:
          inputs:
            bucket: demo
      rules:
        whiskfeed-poll:
          trigger: whiskfeed-tick
          action: poll
`

// Secrets of the fixture's environment; none may appear in the output.
const (
	couchPassword = "couch-pass-0451"
	encryptionKey = "enc-secret-9876"
	webhookToken  = "hook-token-1234"
)

var fixtureEnv = map[string]string{
	"WEB_PACKAGE":    "s3-trigger-feed-web",
	"COUCH_URL":      "http://admin:" + couchPassword + "@127.0.0.1:5984",
	"ENCRYPTION_KEY": encryptionKey,
	"WEBHOOK_TOKEN":  webhookToken,
	"SOURCE_NAME":    "demo",
}

// fixture is a manifest with its functions in a temporary directory.
type fixture struct {
	manifest string
	zips     map[string][]byte // function path → zip bytes
	pollExec []byte            // content of build/poll/exec
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, mode))
}

// makeZip builds a zip holding an action's exec and exec.env.
func makeZip(t *testing.T, exec string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range map[string]string{"exec": exec, "exec.env": "openwhisk/action-golang-v1.24\n"} {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, err = io.WriteString(w, content)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func newFixture(t *testing.T, manifest string) fixture {
	t.Helper()
	dir := t.TempDir()
	fx := fixture{manifest: filepath.Join(dir, "manifest.yaml"), zips: map[string][]byte{}}
	writeFile(t, fx.manifest, []byte(manifest), 0o644)
	for _, name := range []string{"changes", "lifecycle", "hook"} {
		z := makeZip(t, "\x7fELF "+name)
		fx.zips["build/"+name+".zip"] = z
		writeFile(t, filepath.Join(dir, "build", name+".zip"), z, 0o644)
	}
	fx.pollExec = []byte("\x7fELF poll")
	writeFile(t, filepath.Join(dir, "build", "poll", "exec"), fx.pollExec, 0o755)
	writeFile(t, filepath.Join(dir, "build", "poll", "exec.env"), []byte("openwhisk/action-golang-v1.24\n"), 0o644)
	writeFile(t, filepath.Join(dir, "build", "poll", "empty"), nil, 0o644)
	return fx
}

func (fx fixture) options(f *fakeWhisk, out io.Writer) deploy.Options {
	return deploy.Options{
		ManifestPath: fx.manifest,
		APIHost:      f.srv.URL,
		AuthKey:      testKey,
		Out:          out,
		Env:          func(k string) string { return fixtureEnv[k] },
		RetryDelay:   1,
	}
}

// decodeAction returns an action PUT body with exec.code replaced by
// "<code>", and the decoded code.
func decodeAction(t *testing.T, r rec) (map[string]any, []byte) {
	t.Helper()
	b := r.body(t)
	exec, ok := b["exec"].(map[string]any)
	require.True(t, ok, "exec in %s", r.Body)
	code, err := base64.StdEncoding.DecodeString(exec["code"].(string))
	require.NoError(t, err, "exec.code must be base64")
	exec["code"] = "<code>"
	return b, code
}

func jsonValue(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m), s)
	return m
}

const (
	pkgs     = "/api/v1/namespaces/_/packages/"
	acts     = "/api/v1/namespaces/_/actions/"
	trigs    = "/api/v1/namespaces/_/triggers/"
	rulesURL = "/api/v1/namespaces/_/rules/"
	feedURL  = "/api/v1/namespaces/whisk.system/actions/alarms/interval"
)

// deploySequence is what wskdeploy sends for whiskfeedManifest into an empty
// namespace (notes §2.7 and §4).
var deploySequence = []string{
	"GET /",
	"PUT " + pkgs + "s3-trigger-feed?overwrite=true",
	"PUT " + pkgs + "s3-trigger-feed-web?overwrite=true",
	"PUT " + pkgs + "whiskfeed-alarms?overwrite=true",
	"PUT " + acts + "s3-trigger-feed/changes?overwrite=true",
	"PUT " + acts + "s3-trigger-feed-web/lifecycle?overwrite=true",
	"PUT " + acts + "s3-trigger-feed-web/poll?overwrite=true",
	"PUT " + acts + "s3-trigger-feed-web/hook?overwrite=true",
	"GET " + trigs + "whiskfeed-tick",
	"PUT " + trigs + "whiskfeed-tick?overwrite=true",
	"POST " + feedURL + "?blocking=true&result=false",
	"PUT " + trigs + "uploads?overwrite=true",
	"PUT " + rulesURL + "whiskfeed-poll?overwrite=true",
	"POST " + rulesURL + "whiskfeed-poll",
}

func TestDeployRequestSequenceAndBodies(t *testing.T) {
	f := newFakeWhisk(t)
	fx := newFixture(t, whiskfeedManifest)
	var out bytes.Buffer

	require.NoError(t, deploy.Deploy(t.Context(), fx.options(f, &out)))

	reqs := f.requests()
	require.Equal(t, deploySequence, lines(reqs))

	assert.Empty(t, reqs[0].Header.Get("Authorization"), "GET / is sent without credentials")
	for _, r := range reqs[1:] {
		if len(r.Body) > 0 {
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"), r.line())
		}
	}

	assert.Equal(t, jsonValue(t, `{"version":"1.2.0","publish":true,"parameters":[
		{"key":"web_package","value":"s3-trigger-feed-web"},{"key":"default_interval","value":1}]}`), reqs[1].body(t))
	assert.Equal(t, jsonValue(t, `{"version":"0.0.1","publish":false,"parameters":[
		{"key":"couchdb_url","value":"http://admin:`+couchPassword+`@127.0.0.1:5984"},
		{"key":"encryption_key","value":"`+encryptionKey+`"},
		{"key":"max_keys","value":1000},
		{"key":"notify","value":{}}]}`), reqs[2].body(t))
	assert.Equal(t, jsonValue(t, `{"publish":false,"binding":{"namespace":"whisk.system","name":"alarms"},
		"parameters":[{"key":"trigger_payload","value":""}]}`), reqs[3].body(t))

	body, code := decodeAction(t, reqs[4])
	assert.Equal(t, jsonValue(t, `{"publish":false,"exec":{"kind":"go:1.24","code":"<code>"},
		"annotations":[{"key":"feed","value":true},{"key":"description","value":"polls a bucket"}]}`), body)
	assert.Equal(t, fx.zips["build/changes.zip"], code)

	body, code = decodeAction(t, reqs[5])
	assert.Equal(t, jsonValue(t, `{"publish":false,"exec":{"kind":"go:1.24","code":"<code>"},
		"annotations":[{"key":"web-export","value":true},{"key":"raw-http","value":false},{"key":"final","value":true}]}`), body)
	assert.Equal(t, fx.zips["build/lifecycle.zip"], code)

	body, code = decodeAction(t, reqs[6])
	assert.Equal(t, jsonValue(t, `{"publish":false,"exec":{"kind":"go:1.24","code":"<code>"},
		"annotations":[{"key":"provide-api-key","value":true}],"limits":{"timeout":300000,"memory":256}}`), body)
	assertDirZip(t, code, fx.pollExec)

	body, code = decodeAction(t, reqs[7])
	assert.Equal(t, jsonValue(t, `{"publish":false,"exec":{"kind":"go:1.24","code":"<code>"},
		"parameters":[{"key":"webhook_token","value":"`+webhookToken+`"}],
		"annotations":[{"key":"web-export","value":true},{"key":"raw-http","value":true},{"key":"final","value":true}]}`), body)
	assert.Equal(t, fx.zips["build/hook.zip"], code)

	assert.Equal(t, jsonValue(t, `{"name":"whiskfeed-tick","publish":true,
		"annotations":[{"key":"feed","value":"/whisk.system/alarms/interval"}]}`), reqs[9].body(t))
	assert.Equal(t, jsonValue(t, `{"minutes":1,"trigger_payload":{"source":"demo"},
		"authKey":"`+testKey+`","lifecycleEvent":"CREATE","triggerName":"/_/whiskfeed-tick"}`), reqs[10].body(t))
	assert.Equal(t, jsonValue(t, `{"name":"uploads","publish":false,"parameters":[{"key":"bucket","value":"demo"}]}`), reqs[11].body(t))
	assert.Equal(t, jsonValue(t, `{"name":"whiskfeed-poll","trigger":"/_/whiskfeed-tick",
		"action":"/_/s3-trigger-feed-web/poll","publish":false}`), reqs[12].body(t))
	assert.Equal(t, jsonValue(t, `{"status":"active"}`), reqs[13].body(t))

	// One progress line per entity, secrets redacted.
	text := out.String()
	assert.Equal(t, 10, strings.Count(text, "… ok\n"), text)
	assert.Contains(t, text, "deploy action s3-trigger-feed-web/poll … ok\n")
	assert.Contains(t, text, "encryption_key=***")
	assert.Contains(t, text, `couchdb_url="http://admin:***@127.0.0.1:5984"`)
	assert.Contains(t, text, "webhook_token=***")
	for _, secret := range []string{couchPassword, encryptionKey, webhookToken, testKey, strings.Split(testKey, ":")[1]} {
		assert.NotContains(t, text, secret)
	}
}

// assertDirZip checks the zip made from the directory build/poll: its
// regular non-empty files at the top level, exec still executable.
func assertDirZip(t *testing.T, code, exec []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(code), int64(len(code)))
	require.NoError(t, err)
	files := map[string]*zip.File{}
	for _, zf := range zr.File {
		files[zf.Name] = zf
	}
	require.Len(t, files, 2, "exec and exec.env; the empty file is left out as wskdeploy does")
	rc, err := files["exec"].Open()
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, exec, got)
	assert.Equal(t, os.FileMode(0o755), files["exec"].Mode().Perm())
	assert.Contains(t, files, "exec.env")
}

func TestRedeployRecreatesFeedTrigger(t *testing.T) {
	f := newFakeWhisk(t)
	fx := newFixture(t, whiskfeedManifest)
	require.NoError(t, deploy.Deploy(t.Context(), fx.options(f, nil)))
	f.requests()

	require.NoError(t, deploy.Deploy(t.Context(), fx.options(f, nil)))

	reqs := f.requests()
	want := append([]string{}, deploySequence[:9]...)
	want = append(want,
		// The trigger exists: wskdeploy's feed DELETE path (which GETs the
		// trigger again), then the same PUT and CREATE as a first deploy.
		"GET "+trigs+"whiskfeed-tick",
		"POST "+feedURL+"?blocking=true&result=false",
	)
	want = append(want, deploySequence[9:]...)
	require.Equal(t, want, lines(reqs))
	assert.Equal(t, jsonValue(t, `{"authKey":"`+testKey+`","lifecycleEvent":"DELETE","triggerName":"/_/whiskfeed-tick"}`),
		reqs[10].body(t), "feed DELETE carries no inputs")
	assert.Equal(t, "CREATE", reqs[12].body(t)["lifecycleEvent"])
	assert.Equal(t, jsonValue(t, `{"status":"active"}`), reqs[len(reqs)-1].body(t))
}

func TestDeployFeedCreateFailure(t *testing.T) {
	f := newFakeWhisk(t)
	f.feedFail["/whisk.system/alarms/interval CREATE"] = "minutes must be a positive integer"
	fx := newFixture(t, whiskfeedManifest)
	var out bytes.Buffer

	err := deploy.Deploy(t.Context(), fx.options(f, &out))

	require.Error(t, err)
	var ae *whisk.ActionError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "minutes must be a positive integer", ae.Message())
	reqs := f.requests()
	want := append([]string{}, deploySequence[:11]...)
	want = append(want, "DELETE "+trigs+"whiskfeed-tick")
	assert.Equal(t, want, lines(reqs), "the trigger is deleted and nothing after it is deployed")
	_, exists := f.entity("triggers/whiskfeed-tick")
	assert.False(t, exists)
	_, exists = f.entity("rules/whiskfeed-poll")
	assert.False(t, exists)
	assert.Contains(t, out.String(), "deploy trigger whiskfeed-tick (feed /whisk.system/alarms/interval) (inputs: minutes=1, trigger_payload={source: \"demo\"}) … failed: ")
}

func TestUndeploySequence(t *testing.T) {
	f := newFakeWhisk(t)
	fx := newFixture(t, whiskfeedManifest)
	require.NoError(t, deploy.Deploy(t.Context(), fx.options(f, nil)))
	f.requests()
	var out bytes.Buffer

	// Undeploy needs neither the function files nor the input values.
	require.NoError(t, os.RemoveAll(filepath.Join(filepath.Dir(fx.manifest), "build")))
	opts := fx.options(f, &out)
	opts.Env = nil
	require.NoError(t, deploy.Undeploy(t.Context(), opts))

	reqs := f.requests()
	assert.Equal(t, []string{
		"GET /",
		"GET " + rulesURL + "whiskfeed-poll",
		"DELETE " + rulesURL + "whiskfeed-poll",
		"GET " + trigs + "whiskfeed-tick",
		"POST " + feedURL + "?blocking=true&result=false",
		"GET " + trigs + "whiskfeed-tick",
		"DELETE " + trigs + "whiskfeed-tick",
		"GET " + trigs + "uploads",
		"DELETE " + trigs + "uploads",
		"GET " + acts + "s3-trigger-feed/changes?code=false",
		"DELETE " + acts + "s3-trigger-feed/changes",
		"GET " + acts + "s3-trigger-feed-web/lifecycle?code=false",
		"DELETE " + acts + "s3-trigger-feed-web/lifecycle",
		"GET " + acts + "s3-trigger-feed-web/poll?code=false",
		"DELETE " + acts + "s3-trigger-feed-web/poll",
		"GET " + acts + "s3-trigger-feed-web/hook?code=false",
		"DELETE " + acts + "s3-trigger-feed-web/hook",
		"GET " + pkgs + "s3-trigger-feed",
		"DELETE " + pkgs + "s3-trigger-feed",
		"GET " + pkgs + "s3-trigger-feed-web",
		"DELETE " + pkgs + "s3-trigger-feed-web",
		"DELETE " + pkgs + "whiskfeed-alarms",
	}, lines(reqs))
	assert.Equal(t, jsonValue(t, `{"authKey":"`+testKey+`","lifecycleEvent":"DELETE","triggerName":"/_/whiskfeed-tick"}`), reqs[4].body(t))
	assert.Empty(t, f.keys(), "nothing is left behind")
	assert.Equal(t, 10, strings.Count(out.String(), "… ok\n"), out.String())

	// A second undeploy finds nothing and succeeds.
	out.Reset()
	require.NoError(t, deploy.Undeploy(t.Context(), opts))
	assert.Equal(t, 10, strings.Count(out.String(), "… ok (already gone)\n"), out.String())
	for _, r := range f.requests() {
		assert.NotEqual(t, "POST", r.Method, "no feed call for a missing trigger: %s", r.line())
	}
}

func TestDeployRetriesConcurrentModification(t *testing.T) {
	tests := []struct {
		name      string
		conflicts int
		wantErr   bool
		attempts  int
	}{
		{name: "two conflicts then success", conflicts: 2, attempts: 3},
		{name: "three conflicts give up", conflicts: 3, wantErr: true, attempts: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeWhisk(t)
			f.conflicts["PUT "+pkgs+"s3-trigger-feed"] = tc.conflicts
			fx := newFixture(t, whiskfeedManifest)

			err := deploy.Deploy(t.Context(), fx.options(f, nil))

			n := 0
			for _, l := range lines(f.requests()) {
				if l == "PUT "+pkgs+"s3-trigger-feed?overwrite=true" {
					n++
				}
			}
			assert.Equal(t, tc.attempts, n)
			if tc.wantErr {
				require.Error(t, err)
				assert.True(t, whisk.IsConflict(err))
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestDeployParamOverrides(t *testing.T) {
	f := newFakeWhisk(t)
	fx := newFixture(t, whiskfeedManifest)
	opts := fx.options(f, nil)
	env := map[string]string{"COUCH_URL": "", "ENCRYPTION_KEY": "", "OTHER_COUCH": "http://other:5984"}
	opts.Env = func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return fixtureEnv[k]
	}
	// Required inputs empty in the environment are satisfied by --param;
	// every input of that name is overridden, with a string value.
	opts.Params = map[string]string{"couchdb_url": "$OTHER_COUCH", "encryption_key": "k2", "minutes": "5", "bucket": "other"}

	require.NoError(t, deploy.Deploy(t.Context(), opts))

	byLine := map[string]rec{}
	for _, r := range f.requests() {
		byLine[r.line()] = r
	}
	params := byLine["PUT "+pkgs+"s3-trigger-feed-web?overwrite=true"].body(t)["parameters"]
	assert.Equal(t, []any{
		map[string]any{"key": "couchdb_url", "value": "http://other:5984"},
		map[string]any{"key": "encryption_key", "value": "k2"},
		map[string]any{"key": "max_keys", "value": float64(1000)},
		map[string]any{"key": "notify", "value": map[string]any{}},
	}, params)
	assert.Equal(t, "5", byLine["POST "+feedURL+"?blocking=true&result=false"].body(t)["minutes"])
	assert.Equal(t, []any{map[string]any{"key": "bucket", "value": "other"}},
		byLine["PUT "+trigs+"uploads?overwrite=true"].body(t)["parameters"])
}

func TestDeployNamespace(t *testing.T) {
	tests := []struct {
		name      string
		option    string
		manifest  string
		wantNS    string
		wantTName string
	}{
		{name: "default", wantNS: "_", wantTName: "/_/whiskfeed-tick"},
		{name: "flag", option: "guest", wantNS: "guest", wantTName: "/guest/whiskfeed-tick"},
		{name: "project namespace", manifest: "guest", wantNS: "guest", wantTName: "/guest/whiskfeed-tick"},
		{name: "flag wins", option: "guest", manifest: "other", wantNS: "guest", wantTName: "/guest/whiskfeed-tick"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeWhisk(t)
			m := whiskfeedManifest
			if tc.manifest != "" {
				m = strings.Replace(m, "  name: whiskfeed\n", "  name: whiskfeed\n  namespace: "+tc.manifest+"\n", 1)
			}
			fx := newFixture(t, m)
			opts := fx.options(f, nil)
			opts.Namespace = tc.option

			require.NoError(t, deploy.Deploy(t.Context(), opts))

			reqs := f.requests()
			assert.Equal(t, "/api/v1/namespaces/"+tc.wantNS+"/packages/s3-trigger-feed", reqs[1].Path)
			for _, r := range reqs {
				if r.Method == "POST" && r.Path == feedURL {
					assert.Equal(t, tc.wantTName, r.body(t)["triggerName"])
				}
				if r.Method == "PUT" && strings.Contains(r.Path, "/rules/") {
					assert.Equal(t, "/"+tc.wantNS+"/whiskfeed-tick", r.body(t)["trigger"])
				}
			}
		})
	}
}

func TestDeployFeedCreatePendingCountsAsDone(t *testing.T) {
	f := newFakeWhisk(t)
	f.pending["/whisk.system/alarms/interval CREATE"] = true
	fx := newFixture(t, whiskfeedManifest)
	var out bytes.Buffer

	require.NoError(t, deploy.Deploy(t.Context(), fx.options(f, &out)), "wskdeploy takes a 202 from the feed as success")

	assert.Equal(t, deploySequence, lines(f.requests()))
	assert.Contains(t, out.String(), "… ok (feed CREATE still running as activation ")
}

func TestUndeployContinuesAfterFeedDeleteFailure(t *testing.T) {
	f := newFakeWhisk(t)
	fx := newFixture(t, whiskfeedManifest)
	require.NoError(t, deploy.Deploy(t.Context(), fx.options(f, nil)))
	f.feedFail["/whisk.system/alarms/interval DELETE"] = "provider unreachable"
	var out bytes.Buffer

	err := deploy.Undeploy(t.Context(), fx.options(f, &out))

	require.Error(t, err)
	var ae *whisk.ActionError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "provider unreachable", ae.Message())
	assert.Empty(t, f.keys(), "the trigger and everything else are deleted anyway")
	assert.Contains(t, out.String(), "undeploy trigger whiskfeed-tick (feed /whisk.system/alarms/interval) … failed: feed DELETE of trigger whiskfeed-tick: ")
	assert.Equal(t, 9, strings.Count(out.String(), "… ok\n"), out.String())
}

// TestDeployInputQuirks checks two input rules of wskdeploy that manifests
// may rely on: a package input left empty takes the environment variable of
// its own name, and an action input "$NAME" that comes out empty takes the
// package input NAME.
func TestDeployInputQuirks(t *testing.T) {
	f := newFakeWhisk(t)
	dir := t.TempDir()
	manifest := `packages:
  p:
    inputs:
      COUCH_URL: string
      region: eu-1
      count:
        type: integer
    actions:
      a:
        function: a.zip
        runtime: go:1.24
        inputs:
          url: $COUCH_URL
          region: ${region}
          literal: $${HOME}
          on: yes
          quoted: "yes"
`
	path := filepath.Join(dir, "manifest.yaml")
	writeFile(t, path, []byte(manifest), 0o644)
	writeFile(t, filepath.Join(dir, "a.zip"), makeZip(t, "x"), 0o644)
	env := map[string]string{"COUCH_URL": "http://db:5984", "count": "7"}

	require.NoError(t, deploy.Deploy(t.Context(), deploy.Options{ManifestPath: path, APIHost: f.srv.URL, AuthKey: testKey,
		Env: func(k string) string { return env[k] }}))

	reqs := f.requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, jsonValue(t, `{"version":"0.0.1","publish":false,"parameters":[
		{"key":"COUCH_URL","value":"http://db:5984"},{"key":"region","value":"eu-1"},{"key":"count","value":"7"}]}`), reqs[1].body(t))
	body, _ := decodeAction(t, reqs[2])
	assert.Equal(t, jsonValue(t, `{"parameters":[{"key":"url","value":"http://db:5984"},{"key":"region","value":"eu-1"},
		{"key":"literal","value":"${HOME}"},{"key":"on","value":true},{"key":"quoted","value":"yes"}]}`)["parameters"], body["parameters"])
}
