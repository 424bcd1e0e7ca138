package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/deploy"
	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// Upstream's well-known development keys, which localwhisk knows.
const (
	systemKey = "789c46b1-71f6-4ed5-8c54-816aa4f8c502:abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
	guestKey  = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)

const (
	systemNS = "whisk.system"
	guestNS  = "guest"
	feedPkg  = "s3-trigger-feed"
	webPkg   = "s3-trigger-feed-web"
	// pollCron polls every second: 6 fields, leading seconds.
	pollCron = "* * * * * *"
	// wait bounds every wait for something the stack does on its own.
	wait = 45 * time.Second
	tick = 200 * time.Millisecond
)

var (
	changesFeed  = whisk.QName{Namespace: systemNS, Package: feedPkg, Name: "changes"}
	healthAction = whisk.QName{Namespace: systemNS, Package: webPkg, Name: "health"}
	pollAction   = whisk.QName{Namespace: systemNS, Package: webPkg, Name: "poll"}
)

// artifacts are what every scenario deploys: built once per test binary.
type artifacts struct {
	localwhisk  string // the localwhisk binary
	manifest    string // a copy of manifest.yaml, next to dist/
	recorderZip []byte // the recording action of testdata/recorder
}

func buildArtifacts(t *testing.T) *artifacts {
	t.Helper()
	here, err := filepath.Abs(".")
	require.NoError(t, err)
	root := filepath.Join(here, "..", "..")
	dir := t.TempDir()
	start := time.Now()
	goCmd(t, root, "build", "-o", filepath.Join(dir, "localwhisk"), "./tools/localwhisk")
	goCmd(t, root, "run", "./tools/pack", "-o", filepath.Join(dir, "dist"), "./actions/...", "./tests/e2e/testdata/recorder")
	manifest, err := os.ReadFile(filepath.Join(root, "manifest.yaml"))
	require.NoError(t, err)
	art := &artifacts{localwhisk: filepath.Join(dir, "localwhisk"), manifest: filepath.Join(dir, "manifest.yaml")}
	require.NoError(t, os.WriteFile(art.manifest, manifest, 0o644))
	art.recorderZip, err = os.ReadFile(filepath.Join(dir, "dist", "recorder.zip"))
	require.NoError(t, err)
	t.Logf("built localwhisk and the actions in %s", time.Since(start).Round(time.Millisecond))
	return art
}

func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %v:\n%s", args, out)
}

// stack is one scenario's OpenWhisk (its own localwhisk process) with
// whiskfeed deployed into whisk.system, state in its own CouchDB database.
type stack struct {
	url      string
	system   *whisk.Client // whisk.system, the provider
	guest    *whisk.Client // the user
	couchURL string
	db       string
	encKey   string
	store    *feed.Store // the provider's database, read directly
	s3URL    string
	s3       *s3.Client
	logFile  string
	// recorderZip is the recording action bound to the users' triggers.
	recorderZip []byte
}

// newStack starts localwhisk and deploys the manifest.
func newStack(t *testing.T, art *artifacts) *stack {
	t.Helper()
	st := startWhisk(t, art)
	var out bytes.Buffer
	err := st.deploy(t.Context(), art, &out)
	require.NoError(t, err, "deploy manifest.yaml:\n%s", out.String())
	return st
}

// startWhisk starts a localwhisk process with its built-in alarms, nothing
// deployed, with the extra flags given. Its log and, when the test failed,
// the activations of both namespaces are printed at the end.
func startWhisk(t *testing.T, art *artifacts, flags ...string) *stack {
	t.Helper()
	ctx := t.Context()
	port, err := service.FreePort()
	require.NoError(t, err)
	st := &stack{url: fmt.Sprintf("http://127.0.0.1:%d", port), couchURL: testenv.CouchDB(t), s3URL: testenv.MinIO(t), recorderZip: art.recorderZip}
	st.db = testenv.NewDatabase(t, st.couchURL)
	st.s3 = testenv.S3Client(t, st.s3URL)
	st.encKey = randomHex(t, 32)
	st.logFile = filepath.Join(t.TempDir(), "localwhisk.log")
	proc, err := service.StartProcess(ctx, service.ProcessOptions{
		Name:     "localwhisk",
		Path:     art.localwhisk,
		Args:     append([]string{"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-work", t.TempDir()}, flags...),
		Port:     port,
		URL:      st.url,
		ReadyURL: st.url + "/api/v1",
		LogFile:  st.logFile,
	})
	require.NoError(t, err, "start localwhisk")
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, proc.Stop(stopCtx), "stop localwhisk")
		if t.Failed() {
			st.dumpLog(t)
		}
	})
	st.system, err = whisk.New(st.url, systemKey, whisk.WithNamespace(systemNS))
	require.NoError(t, err)
	st.guest, err = whisk.New(st.url, guestKey)
	require.NoError(t, err)
	st.store, err = feed.OpenStore(ctx, st.couchURL, st.db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.store.Close() })
	// Registered last, so it runs first: while localwhisk still answers.
	t.Cleanup(func() {
		if t.Failed() {
			st.dumpActivations(t)
		}
	})
	return st
}

// deploy deploys the manifest as whisk.system, as `localwhisk deploy` (and
// wskdeploy) would with the environment of a provider.
func (st *stack) deploy(ctx context.Context, art *artifacts, out io.Writer) error {
	env := map[string]string{
		"WHISKFEED_COUCHDB_URL":    st.couchURL,
		"WHISKFEED_ENCRYPTION_KEY": st.encKey,
	}
	return deploy.Deploy(ctx, st.deployOptions(art, out, env))
}

func (st *stack) deployOptions(art *artifacts, out io.Writer, env map[string]string) deploy.Options {
	return deploy.Options{
		ManifestPath: art.manifest,
		APIHost:      st.url,
		AuthKey:      systemKey,
		Namespace:    systemNS,
		Params:       map[string]string{"couchdb_database": st.db},
		Out:          out,
		Env:          func(k string) string { return env[k] },
	}
}

// feedParams are the parameters of a polling trigger on bucket, as a user
// gives them to `wsk trigger create --feed`.
func (st *stack) feedParams(bucket string) map[string]any {
	return map[string]any{
		"bucket":               bucket,
		"s3_endpoint":          st.s3URL,
		"s3_access_key_id":     testenv.MinIOAccessKey,
		"s3_secret_access_key": testenv.MinIOSecretKey,
		"cron":                 pollCron,
	}
}

// createTrigger connects the guest's trigger name to bucket and binds it to
// a recording action of the same name, so its events can be read back.
func (st *stack) createTrigger(t *testing.T, name string, params map[string]any) *whisk.Activation {
	t.Helper()
	act, err := st.guest.CreateFeedTrigger(t.Context(), whisk.QName{Name: name}, changesFeed, params)
	require.NoError(t, err, "create feed trigger %s", name)
	st.bindRecorder(t, name, recorderName(name))
	return act
}

func recorderName(trigger string) string { return "record-" + trigger }

// bindRecorder creates the guest's recording action and a rule from trigger
// to it.
func (st *stack) bindRecorder(t *testing.T, trigger, action string) {
	t.Helper()
	ctx := t.Context()
	_, err := st.guest.PutAction(ctx, whisk.QName{Name: action}, whisk.Action{
		Exec: &whisk.Exec{Kind: "go:1.24", Code: base64.StdEncoding.EncodeToString(st.recorderZip)},
	}, whisk.Overwrite)
	require.NoError(t, err, "create action %s", action)
	_, err = st.guest.PutRule(ctx, whisk.QName{Name: "rule-" + action}, whisk.QName{Name: trigger}, whisk.QName{Name: action}, whisk.Overwrite)
	require.NoError(t, err, "create rule %s -> %s", trigger, action)
}

// record reads the CouchDB record of the guest's trigger name.
func (st *stack) record(t *testing.T, name string) *feed.Record {
	t.Helper()
	rec, err := st.store.Get(t.Context(), feed.RecordID(guestNS, name))
	require.NoError(t, err, "read the record of %s", name)
	return rec
}

// waitPolls waits until the trigger's record counts at least n polls.
func (st *stack) waitPolls(t *testing.T, name string, n int64) {
	t.Helper()
	var got int64
	require.Eventually(t, func() bool {
		rec, err := st.store.Get(t.Context(), feed.RecordID(guestNS, name))
		if err != nil {
			return false
		}
		got = rec.Stats.Polls
		return got >= n
	}, wait, tick, "trigger %s: expected %d polls", name, n)
}

// quiesce waits until no poll of the trigger holds its lease: a poll that
// began before a lifecycle change has finished, so the next one sees it.
func (st *stack) quiesce(t *testing.T, name string) {
	t.Helper()
	require.Eventually(t, func() bool {
		rec, err := st.store.Get(t.Context(), feed.RecordID(guestNS, name))
		return err == nil && !rec.Lease.Held(time.Now())
	}, wait, tick, "trigger %s: a poll still holds the lease", name)
}

// settle waits for two more polls of the trigger, then until its recorder
// has recorded every event the record says was fired, and returns them all.
// Two polls: the one running now may have listed before the last change.
func (st *stack) settle(t *testing.T, trigger string) []s3feed.Event {
	t.Helper()
	st.waitPolls(t, trigger, st.record(t, trigger).Stats.Polls+2)
	fired := st.record(t, trigger).Stats.EventsFired
	var evs []s3feed.Event
	require.Eventually(t, func() bool {
		evs = st.recorded(t, recorderName(trigger))
		return int64(len(evs)) >= fired
	}, wait, tick, "trigger %s fired %d events; its recorder did not record them all", trigger, fired)
	assert.Len(t, evs, int(fired), "trigger %s: events recorded vs fired", trigger)
	return evs
}

// awaitEvents waits until the recorder of trigger has n events, then settles.
func (st *stack) awaitEvents(t *testing.T, trigger string, n int) []s3feed.Event {
	t.Helper()
	var got int
	require.Eventually(t, func() bool {
		got = len(st.recorded(t, recorderName(trigger)))
		return got >= n
	}, wait, tick, "trigger %s: expected %d events at its recorder", trigger, n)
	return st.settle(t, trigger)
}

// recorded returns the events received by the guest's recording action,
// oldest first.
func (st *stack) recorded(t *testing.T, action string) []s3feed.Event {
	t.Helper()
	acts, err := st.guest.Activations(t.Context(), whisk.ActivationQuery{
		ListOptions: whisk.ListOptions{Limit: 200}, Name: action, Docs: true,
	})
	require.NoError(t, err, "list the activations of %s", action)
	evs := make([]s3feed.Event, 0, len(acts))
	for i := len(acts) - 1; i >= 0; i-- {
		var ev s3feed.Event
		require.NoError(t, acts[i].Response.Decode(&ev), "activation %s of %s", acts[i].ActivationID, action)
		evs = append(evs, ev)
	}
	return evs
}

// change is an expected event: its status and key.
type change struct {
	Status s3feed.Status
	Key    string
}

// assertEvents checks that evs are exactly the want changes of bucket, each
// a well-formed poll event with its stable id.
func assertEvents(t *testing.T, bucket string, evs []s3feed.Event, want ...change) {
	t.Helper()
	got := make([]change, 0, len(evs))
	ids := map[string]bool{}
	for _, ev := range evs {
		got = append(got, change{ev.Status, ev.Key})
		assert.Equal(t, bucket, ev.Bucket, "bucket of %s %s", ev.Status, ev.Key)
		assert.Equal(t, s3feed.SourcePoll, ev.Source, "source of %s %s", ev.Status, ev.Key)
		assert.Equal(t, ev.Key, ev.File.Key, "file.Key of %s %s", ev.Status, ev.Key)
		assert.NotEmpty(t, ev.File.ETag, "file.ETag of %s %s", ev.Status, ev.Key)
		assert.Equal(t, s3feed.EventID(bucket, ev.Key, ev.File.ETag, ev.Status), ev.EventID, "event_id of %s %s", ev.Status, ev.Key)
		assert.False(t, ids[ev.EventID], "event_id %s delivered twice", ev.EventID)
		ids[ev.EventID] = true
	}
	assert.ElementsMatch(t, want, got, "events of bucket %s", bucket)
}

func (st *stack) put(t *testing.T, bucket, key, body string) {
	t.Helper()
	_, err := st.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	require.NoError(t, err, "put %s/%s", bucket, key)
}

func (st *stack) del(t *testing.T, bucket, key string) {
	t.Helper()
	_, err := st.s3.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(t, err, "delete %s/%s", bucket, key)
}

// whiskfeedEntities lists the names of the triggers and rules of whisk.system
// that whiskfeed names (whiskfeed-*).
func (st *stack) whiskfeedEntities(t *testing.T) (triggers, rules []string) {
	t.Helper()
	ts, err := st.system.Triggers(t.Context(), systemNS, whisk.ListOptions{Limit: 200})
	require.NoError(t, err)
	for _, tr := range ts {
		if strings.HasPrefix(tr.Name, "whiskfeed-") {
			triggers = append(triggers, tr.Name)
		}
	}
	rs, err := st.system.Rules(t.Context(), systemNS, whisk.ListOptions{Limit: 200})
	require.NoError(t, err)
	for _, r := range rs {
		if strings.HasPrefix(r.Name, "whiskfeed-") {
			rules = append(rules, r.Name)
		}
	}
	return triggers, rules
}

// docIDs lists the ids of every document of the provider's database
// (_all_docs, read over HTTP so that nothing is hidden by the store's types).
func (st *stack) docIDs(t *testing.T) []string {
	t.Helper()
	u := strings.TrimRight(st.couchURL, "/") + "/" + url.PathEscape(st.db) + "/_all_docs"
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET _all_docs")
	var body struct {
		Rows []struct {
			ID string `json:"id"`
		} `json:"rows"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	ids := make([]string, 0, len(body.Rows))
	for _, r := range body.Rows {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	return ids
}

// docsOf returns the document ids that belong to the guest's trigger name:
// its record ("trigger:guest/name"), snapshot chunks ("snap:guest/name:…")
// and any other document keyed by the trigger.
func (st *stack) docsOf(t *testing.T, name string) []string {
	t.Helper()
	own := regexp.MustCompile(regexp.QuoteMeta(guestNS+"/"+name) + `($|:)`)
	var out []string
	for _, id := range st.docIDs(t) {
		if own.MatchString(id) {
			out = append(out, id)
		}
	}
	return out
}

// assertGone checks that nothing of the guest's trigger name is left: no
// trigger, no record or other document, and no whiskfeed alarm trigger or
// rule in whisk.system.
func (st *stack) assertGone(t *testing.T, name string, alarm feed.Alarm) {
	t.Helper()
	ctx := t.Context()
	_, err := st.guest.Trigger(ctx, whisk.QName{Name: name})
	assert.True(t, whisk.IsNotFound(err), "trigger %s: expected 404, got %v", name, err)
	_, err = st.store.Get(ctx, feed.RecordID(guestNS, name))
	assert.ErrorIs(t, err, feed.ErrNotFound, "record of %s", name)
	for rec, err := range st.store.List(ctx, feed.ListFilter{Namespace: guestNS}) {
		require.NoError(t, err, "list the guest's records")
		assert.NotEqual(t, name, rec.Name, "the record list still holds %s", name)
	}
	assert.Empty(t, st.docsOf(t, name), "CouchDB documents of %s", name)
	if alarm.Trigger != "" {
		_, err = st.system.Trigger(ctx, whisk.QName{Namespace: systemNS, Name: alarm.Trigger})
		assert.True(t, whisk.IsNotFound(err), "alarm trigger %s: expected 404, got %v", alarm.Trigger, err)
	}
	if alarm.Rule != "" {
		_, err = st.system.Rule(ctx, whisk.QName{Namespace: systemNS, Name: alarm.Rule})
		assert.True(t, whisk.IsNotFound(err), "poll rule %s: expected 404, got %v", alarm.Rule, err)
	}
}

// health invokes the health action as the provider.
func (st *stack) health(t *testing.T, repair bool) feed.HealthReport {
	t.Helper()
	raw, err := st.system.InvokeResult(t.Context(), healthAction, map[string]any{"repair": repair})
	require.NoError(t, err, "invoke %s", healthAction)
	var rep feed.HealthReport
	require.NoError(t, json.Unmarshal(raw, &rep), "health report %s", raw)
	return rep
}

// feedError returns the message of a feed action's failure.
func feedError(t *testing.T, err error) string {
	t.Helper()
	var ae *whisk.ActionError
	require.ErrorAs(t, err, &ae, "expected the feed action to fail, got %v", err)
	return ae.Message()
}

func (st *stack) dumpActivations(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, c := range []struct {
		ns string
		*whisk.Client
	}{{systemNS, st.system}, {guestNS, st.guest}} {
		acts, err := c.Activations(ctx, whisk.ActivationQuery{ListOptions: whisk.ListOptions{Limit: 60}, Docs: true})
		if err != nil {
			t.Logf("diagnostics: list activations: %v", err)
			continue
		}
		var b strings.Builder
		for i := len(acts) - 1; i >= 0; i-- {
			a := acts[i]
			fmt.Fprintf(&b, "  %s %s/%s %s %dms: %.600s\n", time.UnixMilli(a.Start).UTC().Format("15:04:05.000"),
				a.Namespace, a.Name, a.Response.Status, a.Duration, a.Response.Result)
			logs := a.Logs
			if len(logs) > 15 {
				logs = logs[len(logs)-15:]
			}
			for _, l := range logs {
				fmt.Fprintf(&b, "      %.400s\n", l)
			}
		}
		t.Logf("diagnostics: newest %d activations of %s:\n%s", len(acts), c.ns, b.String())
	}
}

func (st *stack) dumpLog(t *testing.T) {
	b, err := os.ReadFile(st.logFile)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	t.Logf("diagnostics: localwhisk log (last %d lines):\n%s", len(lines), strings.Join(lines, "\n"))
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// isStatus reports whether err carries the HTTP status code.
func isStatus(err error, code int) bool {
	var ae *whisk.APIError
	return errors.As(err, &ae) && ae.StatusCode == code
}
