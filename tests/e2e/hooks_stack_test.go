package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/deploy"
	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

const (
	// hookPath is where a store posts its notifications: the hook raw web
	// action of the provider's private package.
	hookPath = "/api/v1/web/" + systemNS + "/" + webPkg + "/hook"
	// hookTargetID names the MinIO webhook target whiskfeed is deployed with.
	hookTargetID = "WHISKFEED"
	// otherTargetID names a second webhook target, someone else's.
	otherTargetID = "AUDIT"
)

// hookActivations is the activation name filter that selects hook's.
const hookActivations = webPkg + "/hook"

var notificationsFeed = whisk.QName{Namespace: systemNS, Package: feedPkg, Name: "notifications"}

// hookStack is a stack whose own MinIO sends its bucket notifications to
// the hook web action of its localwhisk, with whiskfeed deployed for them:
// webhook_token and notification_arn bound as a provider binds them.
type hookStack struct {
	*stack
	token string // the webhook token MinIO sends and hook expects
	arn   string // notification_arn: MinIO's ARN of the webhook target
	// other receives what MinIO sends to the second target, otherARN.
	other    *sink
	otherARN string
}

// hookConfig is how newHookStack builds the stack.
type hookConfig struct {
	apiProxy  *faultProxy // actions reach localwhisk's API through it
	hookProxy *faultProxy // MinIO reaches the hook through it
	queue     bool        // MinIO keeps undelivered notifications in a queue directory
}

type hookOption func(*hookConfig)

// withAPIProxy makes actions reach localwhisk's REST API through p (its
// __OW_API_HOST), so that p can make fires fail.
func withAPIProxy(p *faultProxy) hookOption { return func(c *hookConfig) { c.apiProxy = p } }

// withHookProxy makes MinIO post its notifications to the hook through p, so
// that p can make the hook unreachable.
func withHookProxy(p *faultProxy) hookOption { return func(c *hookConfig) { c.hookProxy = p } }

// withQueue gives MinIO's webhook target a queue directory: notifications
// not accepted are kept and sent again.
func withQueue() hookOption { return func(c *hookConfig) { c.queue = true } }

// newHookStack starts localwhisk, then a MinIO of its own whose webhook
// target points at localwhisk's hook URL (written as tools/stack writes it:
// no ?endpoint=, the hook tells the store by MinIO's x-minio-origin-endpoint),
// plus a second target to a sink, and deploys the manifest with the token and
// the ARN.
func newHookStack(t *testing.T, art *artifacts, opts ...hookOption) *hookStack {
	t.Helper()
	var cfg hookConfig
	for _, o := range opts {
		o(&cfg)
	}
	var flags []string
	if cfg.apiProxy != nil {
		flags = append(flags, "-api-host", cfg.apiProxy.URL)
	}
	st := startWhisk(t, art, flags...)
	if cfg.apiProxy != nil {
		cfg.apiProxy.forwardTo(t, st.url)
	}
	hs := &hookStack{stack: st, token: randomHex(t, 24), other: newSink(t)}
	endpoint := st.url + hookPath
	if cfg.hookProxy != nil {
		cfg.hookProxy.forwardTo(t, st.url)
		endpoint = cfg.hookProxy.URL + hookPath
	}
	hook := service.Webhook{ID: hookTargetID, Endpoint: endpoint, AuthToken: hs.token}
	if cfg.queue {
		hook.QueueDir = t.TempDir()
	}
	other := service.Webhook{ID: otherTargetID, Endpoint: hs.other.URL, AuthToken: "audit-" + randomHex(t, 8)}
	hs.arn, hs.otherARN = hook.ARN(), other.ARN()
	st.s3URL = testenv.MinIO(t, testenv.WithWebhook(hook), testenv.WithWebhook(other))
	st.s3 = testenv.S3Client(t, st.s3URL)

	env := map[string]string{
		"WHISKFEED_COUCHDB_URL":      st.couchURL,
		"WHISKFEED_ENCRYPTION_KEY":   st.encKey,
		"WHISKFEED_WEBHOOK_TOKEN":    hs.token,
		"WHISKFEED_NOTIFICATION_ARN": hs.arn,
	}
	var out bytes.Buffer
	require.NoError(t, deploy.Deploy(t.Context(), st.deployOptions(art, &out, env)), "deploy manifest.yaml:\n%s", out.String())
	return hs
}

// params are the parameters of a notifications trigger on bucket, plus the
// given key-value pairs.
func (hs *hookStack) params(bucket string, kv ...any) map[string]any {
	p := map[string]any{
		"bucket":               bucket,
		"s3_endpoint":          hs.s3URL,
		"s3_access_key_id":     testenv.MinIOAccessKey,
		"s3_secret_access_key": testenv.MinIOSecretKey,
	}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i].(string)] = kv[i+1]
	}
	return p
}

// createHookTrigger connects the guest's trigger name to a bucket's
// notifications and binds it to a recording action.
func (hs *hookStack) createHookTrigger(t *testing.T, name string, params map[string]any) *whisk.Activation {
	t.Helper()
	act, err := hs.guest.CreateFeedTrigger(t.Context(), whisk.QName{Name: name}, notificationsFeed, params)
	require.NoError(t, err, "create feed trigger %s", name)
	hs.bindRecorder(t, name, recorderName(name))
	return act
}

// putETag writes an object and returns its ETag as events carry it.
func (hs *hookStack) putETag(t *testing.T, bucket, key, body string) string {
	t.Helper()
	out, err := hs.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	require.NoError(t, err, "put %s/%s", bucket, key)
	return s3feed.NormalizeETag(aws.ToString(out.ETag))
}

// notified returns the events received by the guest's recording action,
// oldest first.
func (hs *hookStack) notified(t *testing.T, action string) []s3feed.NotificationEvent {
	t.Helper()
	acts, err := hs.guest.Activations(t.Context(), whisk.ActivationQuery{
		ListOptions: whisk.ListOptions{Limit: 200}, Name: action, Docs: true,
	})
	require.NoError(t, err, "list the activations of %s", action)
	evs := make([]s3feed.NotificationEvent, 0, len(acts))
	for i := len(acts) - 1; i >= 0; i-- {
		// assert, not require: this runs inside Eventually's goroutine too.
		if !assert.True(t, acts[i].Response.Success, "activation %s of %s: %s %s", acts[i].ActivationID, action, acts[i].Response.Status, acts[i].Response.Result) {
			continue
		}
		var ev s3feed.NotificationEvent
		require.NoError(t, acts[i].Response.Decode(&ev), "activation %s of %s", acts[i].ActivationID, action)
		evs = append(evs, ev)
	}
	return evs
}

// awaitNotified waits until the recorder of trigger has n events and the
// trigger's record counts as many fired, and returns them. More than n is a
// failure.
func (hs *hookStack) awaitNotified(t *testing.T, trigger string, n int) []s3feed.NotificationEvent {
	t.Helper()
	var evs []s3feed.NotificationEvent
	var fired int64
	ok := assert.Eventually(t, func() bool {
		evs = hs.notified(t, recorderName(trigger))
		rec, err := hs.store.Get(t.Context(), feed.RecordID(guestNS, trigger))
		if err == nil {
			fired = rec.Stats.EventsFired
		}
		return len(evs) >= n && fired >= int64(n)
	}, wait, tick, "trigger %s: expected %d events fired and recorded", trigger, n)
	if !ok {
		t.FailNow()
	}
	assert.Len(t, evs, n, "trigger %s: events recorded: %v", trigger, notifiedKeys(evs))
	assert.EqualValues(t, n, fired, "trigger %s: events fired", trigger)
	return evs
}

// notifiedKeys lists events as "status key".
func notifiedKeys(evs []s3feed.NotificationEvent) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, string(e.Status)+" "+e.Key)
	}
	return out
}

// assertNotified checks that e is a well-formed notification event of
// bucket announcing status for key, with the object's etag ("" for
// deletions: MinIO does not send it).
func assertNotified(t *testing.T, e s3feed.NotificationEvent, bucket string, status s3feed.Status, key, etag string) {
	t.Helper()
	what := string(status) + " " + key
	assert.Equal(t, bucket, e.Bucket, "bucket of %s", what)
	assert.Equal(t, key, e.Key, "key of %s", what)
	assert.Equal(t, status, e.Status, "status of %s", what)
	assert.Equal(t, s3feed.SourceNotification, e.Source, "source of %s", what)
	assert.Equal(t, key, e.File.Key, "file.Key of %s", what)
	assert.Equal(t, etag, e.File.ETag, "file.ETag of %s", what)
	assert.Equal(t, s3feed.EventID(bucket, key, etag, status), e.EventID, "event_id of %s", what)
	assert.False(t, e.EventTime.IsZero(), "event_time of %s", what)
	switch status {
	case s3feed.StatusAdded:
		assert.Equal(t, "s3:ObjectCreated:Put", e.EventName, "event_name of %s", what)
		assert.NotNil(t, e.File.Size, "file.Size of %s", what)
	case s3feed.StatusDeleted:
		assert.Equal(t, "s3:ObjectRemoved:Delete", e.EventName, "event_name of %s", what)
	}
}

// hookAnswer is one activation of hook: the status it answered and its body.
type hookAnswer struct {
	Status int
	feed.DeliveryResult
	Error string
}

// hookAnswers lists what hook answered, oldest first.
func (hs *hookStack) hookAnswers(t *testing.T) []hookAnswer {
	t.Helper()
	acts, err := hs.system.Activations(t.Context(), whisk.ActivationQuery{
		ListOptions: whisk.ListOptions{Limit: 200}, Name: hookActivations, Docs: true,
	})
	require.NoError(t, err, "list the activations of hook")
	out := make([]hookAnswer, 0, len(acts))
	for i := len(acts) - 1; i >= 0; i-- {
		var res struct {
			StatusCode int `json:"statusCode"`
			Body       struct {
				feed.DeliveryResult
				Error string `json:"error"`
			} `json:"body"`
		}
		require.NoError(t, acts[i].Response.Decode(&res), "activation %s of hook: %s", acts[i].ActivationID, acts[i].Response.Result)
		out = append(out, hookAnswer{Status: res.StatusCode, DeliveryResult: res.Body.DeliveryResult, Error: res.Body.Error})
	}
	return out
}

// awaitDeliveries waits until hook has answered 200 to n deliveries of
// bucket, and returns them.
func (hs *hookStack) awaitDeliveries(t *testing.T, bucket string, n int) []hookAnswer {
	t.Helper()
	var got []hookAnswer
	ok := assert.Eventually(t, func() bool {
		got = got[:0]
		for _, a := range hs.hookAnswers(t) {
			if a.Status == http.StatusOK && strings.HasSuffix(a.Target, "/"+bucket) {
				got = append(got, a)
			}
		}
		return len(got) >= n
	}, wait, tick, "expected hook to accept %d deliveries of bucket %s", n, bucket)
	if !ok {
		t.FailNow()
	}
	return got
}

// queues returns the bucket's notification entries, each as
// "id arn events prefix=… suffix=…" with the ARN's region left out.
func (hs *hookStack) queues(t *testing.T, bucket string) []string {
	t.Helper()
	out, err := hs.s3.GetBucketNotificationConfiguration(t.Context(), &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(bucket)})
	require.NoError(t, err, "get the notification configuration of %s", bucket)
	assert.Empty(t, out.TopicConfigurations, "topic configurations of %s", bucket)
	assert.Empty(t, out.LambdaFunctionConfigurations, "lambda configurations of %s", bucket)
	entries := make([]string, 0, len(out.QueueConfigurations))
	for _, q := range out.QueueConfigurations {
		entries = append(entries, describeQueue(q))
	}
	sort.Strings(entries)
	return entries
}

func describeQueue(q types.QueueConfiguration) string {
	arn := strings.SplitN(aws.ToString(q.QueueArn), ":", 5)
	if len(arn) == 5 {
		arn[3] = ""
	}
	events := make([]string, 0, len(q.Events))
	for _, e := range q.Events {
		events = append(events, string(e))
	}
	slices.Sort(events)
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

// ourEntry describes whiskfeed's entry as queues does.
func (hs *hookStack) ourEntry(events, prefix, suffix string) string {
	return fmt.Sprintf("%s %s %s prefix=%q suffix=%q", s3feed.EntryID(hs.arn), hs.arn, events, prefix, suffix)
}

const (
	bothEvents  = s3feed.EventTypeCreated + "," + s3feed.EventTypeRemoved
	addedEvents = s3feed.EventTypeCreated
)

// putAudit gives bucket the notification entries of someone else: MinIO
// sends writes under logs/ and deletions of *.tmp to the audit target. It
// returns them as queues describes them.
func (hs *hookStack) putAudit(t *testing.T, bucket string) []string {
	t.Helper()
	filter := func(name types.FilterRuleName, v string) *types.NotificationConfigurationFilter {
		return &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: []types.FilterRule{{Name: name, Value: aws.String(v)}}}}
	}
	_, err := hs.s3.PutBucketNotificationConfiguration(t.Context(), &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(bucket),
		NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{
			{Id: aws.String("audit-logs"), QueueArn: aws.String(hs.otherARN), Events: []types.Event{types.EventS3ObjectCreated}, Filter: filter(types.FilterRuleNamePrefix, "logs/")},
			{Id: aws.String("audit-tmp"), QueueArn: aws.String(hs.otherARN), Events: []types.Event{types.EventS3ObjectRemoved}, Filter: filter(types.FilterRuleNameSuffix, ".tmp")},
		}},
	})
	require.NoError(t, err, "put the audit entries of %s", bucket)
	entries := hs.queues(t, bucket)
	require.Len(t, entries, 2, "the audit entries of %s", bucket)
	return entries
}

// sink is a webhook endpoint that keeps the keys MinIO posts to it.
type sink struct {
	URL  string
	mu   sync.Mutex
	keys []string // MinIO's "Key": bucket/object
}

func newSink(t *testing.T) *sink {
	s := &sink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d struct {
			Key string `json:"Key"`
		}
		if err := json.NewDecoder(r.Body).Decode(&d); err == nil && d.Key != "" {
			s.mu.Lock()
			s.keys = append(s.keys, d.Key)
			s.mu.Unlock()
		}
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// received returns the keys posted so far.
func (s *sink) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys)
}

// await waits until key was posted.
func (s *sink) await(t *testing.T, key string) {
	t.Helper()
	require.Eventually(t, func() bool { return slices.Contains(s.received(), key) }, wait, tick, "the audit target did not receive %s", key)
}

// faultProxy forwards every request to localwhisk, except the ones its
// fault matches: it answers those itself with the fault's status, as a
// gateway in front of an overloaded or unreachable upstream does, and keeps
// them.
type faultProxy struct {
	URL    string
	target atomic.Pointer[url.URL]

	mu      sync.Mutex
	match   func(*http.Request) bool
	status  int
	refused []refusal
}

// refusal is a request the proxy answered with its fault.
type refusal struct {
	Method, Path string
	Body         []byte
}

func newFaultProxy(t *testing.T) *faultProxy {
	p := &faultProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(p.target.Load()) }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		match, status := p.match, p.status
		p.mu.Unlock()
		if p.target.Load() == nil || (match != nil && match(r)) {
			if status == 0 {
				status = http.StatusBadGateway
			}
			body, _ := io.ReadAll(r.Body)
			p.mu.Lock()
			p.refused = append(p.refused, refusal{Method: r.Method, Path: r.URL.Path, Body: body})
			p.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "refused by the test's proxy", "code": "e2e"})
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *faultProxy) forwardTo(t *testing.T, target string) {
	u, err := url.Parse(target)
	require.NoError(t, err)
	p.target.Store(u)
}

// fail makes the proxy answer status to the requests match selects.
func (p *faultProxy) fail(status int, match func(*http.Request) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.match, p.status = match, status
}

// restore makes the proxy forward everything again.
func (p *faultProxy) restore() { p.fail(0, nil) }

// refusals returns the requests refused so far.
func (p *faultProxy) refusals() []refusal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.refused)
}

// deliveredKey returns MinIO's "Key" (bucket/object) of a refused delivery.
func (r refusal) deliveredKey() string {
	var d struct {
		Key string `json:"Key"`
	}
	_ = json.Unmarshal(r.Body, &d)
	return d.Key
}

// postHook posts body to the hook URL of localwhisk with the Authorization
// header auth ("" for none) and returns the status and the body answered.
func (hs *hookStack) postHook(t *testing.T, auth string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, hs.url+hookPath, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "POST %s", hookPath)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(out)
}

// minioDelivery is a notification as MinIO's webhook target posts it: the
// event name, "bucket/key", and one record in the S3 event format with the
// key URL-encoded and the server's endpoint in its response elements.
func minioDelivery(endpoint, bucket, key, eventName, etag string, at time.Time) []byte {
	record := map[string]any{
		"eventVersion": "2.0",
		"eventSource":  "minio:s3",
		"awsRegion":    "",
		"eventTime":    at.UTC().Format("2006-01-02T15:04:05.000Z"),
		"eventName":    eventName,
		"userIdentity": map[string]string{"principalId": testenv.MinIOAccessKey},
		"responseElements": map[string]string{
			"x-amz-request-id":        "18A0E2C2D9D5B7C1",
			"x-minio-origin-endpoint": endpoint,
		},
		"s3": map[string]any{
			"s3SchemaVersion": "1.0",
			"configurationId": "Config",
			"bucket":          map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
			"object":          map[string]any{"key": url.QueryEscape(key), "size": 6, "eTag": etag, "sequencer": "18A0E2C2DA1C5A3E"},
		},
	}
	b, _ := json.Marshal(map[string]any{"EventName": eventName, "Key": bucket + "/" + key, "Records": []any{record}})
	return b
}
