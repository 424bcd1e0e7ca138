package s3feed_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

const (
	hookToken     = "hook-token-for-tests"
	encryptionKey = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
)

// The webhook targets of the MinIO server of hookEnv.
var (
	// direct delivers without a queue: events it cannot deliver are dropped.
	direct = service.Webhook{ID: "WHISKFEED", AuthToken: hookToken}
	// queued keeps events in a queue directory until the webhook takes them.
	queued = service.Webhook{ID: "QUEUED", AuthToken: hookToken}
	// other is someone else's target: the test server only counts its POSTs.
	other = service.Webhook{ID: "OTHER", AuthToken: "not-ours"}
)

// hookEnv is a MinIO server whose webhooks POST to a test server that runs
// the real hook handler (feed.Webhook) as OpenWhisk runs a raw web action,
// with pouchdb-server for state and a fake OpenWhisk REST API receiving the
// fires. Triggers are created and polled through feed.Local on the same
// database, whose fires land in the same place.
type hookEnv struct {
	t        *testing.T
	endpoint string
	s3       *s3.Client
	src      *s3feed.NotificationsSource
	local    *feed.Local
	couch    string
	db       string
	hook     runtime.Handler
	hookURL  string
	whisk    *fakeWhisk

	mu   sync.Mutex
	cond *sync.Cond
	// drop makes the webhook path answer 502 without reaching the action.
	drop map[string]bool
	// done counts deliveries answered, by webhook path and bucket; statuses
	// lists their statuses.
	done     map[string]int
	statuses map[string][]int
	dropped  map[string]int
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	e := &hookEnv{t: t, src: s3feed.Notifications(), hook: feed.Webhook(s3feed.Notifications()),
		drop: map[string]bool{}, done: map[string]int{}, statuses: map[string][]int{}, dropped: map[string]int{}}
	e.cond = sync.NewCond(&e.mu)
	e.whisk = newFakeWhisk(t)

	srv := httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(srv.Close)
	e.hookURL = srv.URL

	e.couch = testenv.CouchDB(t)
	e.db = testenv.NewDatabase(t, e.couch)
	st, err := feed.OpenStore(t.Context(), e.couch, e.db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	kr, err := feed.NewKeyring(encryptionKey)
	require.NoError(t, err)
	e.local = &feed.Local{Store: st, Keyring: kr, Fire: e.whisk.fireLocal,
		Destination: feed.Destination{ARN: direct.ARN(), Token: hookToken}}

	hooks := []service.Webhook{direct, queued, other}
	hooks[0].Endpoint = srv.URL + "/direct"
	hooks[1].Endpoint = srv.URL + "/queued"
	hooks[1].QueueDir = t.TempDir()
	hooks[2].Endpoint = srv.URL + "/other"
	var opts []testenv.MinIOOption
	for _, h := range hooks {
		opts = append(opts, testenv.WithWebhook(h))
	}
	e.endpoint = testenv.MinIO(t, opts...)
	e.s3 = testenv.S3Client(t, e.endpoint)
	return e
}

// serve is the webhook: /other only counts, /direct and /queued run the hook
// action.
func (e *hookEnv) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := strings.TrimPrefix(r.URL.Path, "/")
	var probe struct{ Key string }
	_ = json.Unmarshal(body, &probe)
	bucket, _, _ := strings.Cut(probe.Key, "/")
	slot := path + " " + bucket

	e.mu.Lock()
	drop := e.drop[path]
	if drop {
		e.dropped[slot]++
		e.cond.Broadcast()
	}
	e.mu.Unlock()
	if drop {
		// The action is unreachable: its gateway answers instead.
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	status, out := http.StatusOK, []byte(`{}`)
	if path != "other" {
		headers := map[string]string{}
		for k := range r.Header {
			headers[strings.ToLower(k)] = r.Header.Get(k)
		}
		status, out = e.invokeHook(r.Context(), headers, r.URL.RawQuery, body)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out)

	e.mu.Lock()
	e.done[slot]++
	e.statuses[slot] = append(e.statuses[slot], status)
	e.cond.Broadcast()
	e.mu.Unlock()
}

// invokeHook runs the hook action as OpenWhisk runs a raw web action: the
// request in __ow_* parameters, the body base64-encoded, the provider's
// parameters bound.
func (e *hookEnv) invokeHook(ctx context.Context, headers map[string]string, query string, body []byte) (int, []byte) {
	params := map[string]any{
		"__ow_method":      "post",
		"__ow_headers":     headers,
		"__ow_path":        "",
		"__ow_query":       query,
		"__ow_body":        base64.StdEncoding.EncodeToString(body),
		"couchdb_url":      e.couch,
		"couchdb_database": e.db,
		"encryption_key":   encryptionKey,
		"webhook_token":    hookToken,
		"notification_arn": direct.ARN(),
	}
	raw, err := json.Marshal(params)
	if err != nil {
		e.t.Errorf("encode hook parameters: %v", err)
		return http.StatusInternalServerError, nil
	}
	// Fires that keep failing give up within the activation's time.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ctx = runtime.WithActivation(ctx, runtime.Activation{APIHost: e.whisk.URL, ActionName: "/whisk.system/s3-trigger-feed-web/hook"})
	res, err := e.hook.Invoke(ctx, raw)
	if err != nil {
		e.t.Errorf("hook action: %v", err)
		return http.StatusInternalServerError, nil
	}
	var web struct {
		StatusCode int             `json:"statusCode"`
		Body       json.RawMessage `json:"body"`
	}
	b, err := json.Marshal(res)
	if err == nil {
		err = json.Unmarshal(b, &web)
	}
	if err != nil {
		e.t.Errorf("hook action result %s: %v", b, err)
		return http.StatusInternalServerError, nil
	}
	return web.StatusCode, web.Body
}

// post sends body to the hook action directly, as a store would, with the
// given Authorization header ("" for none).
func (e *hookEnv) post(auth, query string, body []byte) (int, []byte) {
	headers := map[string]string{"content-type": "application/json"}
	if auth != "" {
		headers["authorization"] = auth
	}
	return e.invokeHook(e.t.Context(), headers, query, body)
}

// setDrop makes the webhook path drop deliveries (or stop dropping them).
func (e *hookEnv) setDrop(path string, drop bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.drop[path] = drop
}

// waitFor blocks until cond (called with the lock held) holds; it fails the
// test when the store has not delivered after a generous wait.
func (e *hookEnv) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	stop := time.AfterFunc(46*time.Second, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.cond.Broadcast()
	})
	defer stop.Stop()
	e.mu.Lock()
	defer e.mu.Unlock()
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("still waiting for %s", what)
		}
		e.cond.Wait()
	}
}

// waitDelivered waits until the webhook path answered n deliveries about
// bucket in all.
func (e *hookEnv) waitDelivered(path, bucket string, n int) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("%d deliveries of %s to /%s", n, bucket, path), func() bool { return e.done[path+" "+bucket] >= n })
}

func (e *hookEnv) delivered(path, bucket string) []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int(nil), e.statuses[path+" "+bucket]...)
}

// params are the parameters of a trigger on bucket.
func (e *hookEnv) params(bucket string, extra ...any) map[string]any {
	p := minioParams(e.endpoint, bucket, testenv.MinIOAccessKey, testenv.MinIOSecretKey)
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i].(string)] = extra[i+1]
	}
	return p
}

func (e *hookEnv) create(name string, params map[string]any) string {
	e.t.Helper()
	rec, err := e.local.Create(e.t.Context(), e.src, "guest", name, params)
	require.NoError(e.t, err)
	return rec.ID
}

// queues returns the queue entries of bucket's notification configuration.
func (e *hookEnv) queues(bucket string) []types.QueueConfiguration {
	e.t.Helper()
	out, err := e.s3.GetBucketNotificationConfiguration(e.t.Context(), &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(bucket)})
	require.NoError(e.t, err)
	return out.QueueConfigurations
}

// entry describes a queue entry: "id arn events prefix suffix", with the
// ARN's region blanked.
func entry(q types.QueueConfiguration) string {
	arn := strings.SplitN(aws.ToString(q.QueueArn), ":", 5)
	if len(arn) == 5 {
		arn[3] = ""
	}
	var events []string
	for _, ev := range q.Events {
		events = append(events, string(ev))
	}
	var prefix, suffix string
	if q.Filter != nil && q.Filter.Key != nil {
		for _, r := range q.Filter.Key.FilterRules {
			switch strings.ToLower(string(r.Name)) {
			case "prefix":
				prefix = aws.ToString(r.Value)
			case "suffix":
				suffix = aws.ToString(r.Value)
			}
		}
	}
	return fmt.Sprintf("%s %s %s prefix=%q suffix=%q", aws.ToString(q.Id), strings.Join(arn, ":"), strings.Join(events, ","), prefix, suffix)
}

func entries(qs []types.QueueConfiguration) []string {
	out := []string{}
	for _, q := range qs {
		out = append(out, entry(q))
	}
	return out
}

// fakeWhisk is the part of the OpenWhisk REST API that fires triggers:
// POST /api/v1/namespaces/{ns}/triggers/{name}, answered 202 with an
// activation id, or 503 while failing. Fires made through feed.Local land
// in the same list.
type fakeWhisk struct {
	URL string

	mu      sync.Mutex
	fires   map[string][]json.RawMessage // by "namespace/name"
	failing bool
	failed  int
}

func newFakeWhisk(t *testing.T) *fakeWhisk {
	f := &fakeWhisk{fires: map[string][]json.RawMessage{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/namespaces/")
		ns, name, _ := strings.Cut(rest, "/triggers/")
		if !ok || r.Method != http.MethodPost || name == "" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"The requested resource does not exist.","code":"t1"}`))
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if f.failing {
			f.failed++
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":"The server is currently unavailable (because it is overloaded or down for maintenance).","code":"t2"}`))
			return
		}
		f.fires[ns+"/"+name] = append(f.fires[ns+"/"+name], body)
		w.WriteHeader(http.StatusAccepted)
		_, _ = fmt.Fprintf(w, `{"activationId":"%032x"}`, len(f.fires[ns+"/"+name]))
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeWhisk) fireLocal(_ context.Context, trigger string, payload any) (bool, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fires[trigger] = append(f.fires[trigger], raw)
	return false, nil
}

func (f *fakeWhisk) setFailing(failing bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = failing
}

// take returns and forgets the payloads fired at guest/name.
func (f *fakeWhisk) take(name string) []json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.fires["guest/"+name]
	delete(f.fires, "guest/"+name)
	return p
}

// fired is one fired event, decoded loosely.
type fired struct {
	Bucket    string         `json:"bucket"`
	Key       string         `json:"key"`
	Status    string         `json:"status"`
	File      map[string]any `json:"file"`
	EventID   string         `json:"event_id"`
	Source    string         `json:"source"`
	EventName string         `json:"event_name"`
	EventTime string         `json:"event_time"`
}

// takeEvents returns the events fired at guest/name since the last call,
// batches unwrapped.
func (e *hookEnv) takeEvents(name string) []fired {
	e.t.Helper()
	var out []fired
	for _, raw := range e.whisk.take(name) {
		var probe struct {
			Events []fired `json:"events"`
		}
		require.NoError(e.t, json.Unmarshal(raw, &probe))
		if probe.Events != nil {
			out = append(out, probe.Events...)
			continue
		}
		var f fired
		require.NoError(e.t, json.Unmarshal(raw, &f))
		out = append(out, f)
	}
	return out
}

// keysOf returns "status key" of each event.
func keysOf(events []fired) []string {
	out := []string{}
	for _, ev := range events {
		out = append(out, ev.Status+" "+ev.Key)
	}
	return out
}
