package s3feed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// fakeS3 is gofakes3 in process, behind a handler that counts listing
// requests and can fail them.
type fakeS3 struct {
	URL     string
	client  *s3.Client
	backend *s3mem.Backend
	clock   *offsetClock

	mu sync.Mutex
	// lists counts ListObjectsV2 requests.
	lists int
	// failLists, when > 0, fails every listing request after that many
	// succeeded (counting from when it was set) with failStatus.
	failLists  int
	listsOK    int
	failStatus int
	// listDelay slows every listing request down.
	listDelay time.Duration
}

func newFakeS3(t testing.TB) *fakeS3 {
	t.Helper()
	clock := &offsetClock{}
	backend := s3mem.New(s3mem.WithTimeSource(clock))
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	f := &fakeS3{backend: backend, clock: clock}
	inner := faker.Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2" {
			if status := f.listing(); status != 0 {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(status)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected failure</Message></Error>`)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	f.client = s3feed.NewClient(s3feed.BucketConfig{Endpoint: srv.URL, Region: "us-east-1", AccessKeyID: "test"}, "test-secret", s3feed.ClientOptions{})
	return f
}

// offsetClock is the fake's clock for LastModified: the real time shifted.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

func (c *offsetClock) set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = d
}

// listing counts a listing request and returns the status to fail it with,
// or 0.
func (f *fakeS3) listing() int {
	f.mu.Lock()
	delay := f.listDelay
	f.mu.Unlock()
	time.Sleep(delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.failLists > 0 && f.listsOK >= f.failLists {
		return f.failStatus
	}
	f.listsOK++
	return 0
}

// failAfter makes listing requests fail with status after n more succeed;
// n = 0 stops failing.
func (f *fakeS3) failAfter(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failLists, f.listsOK, f.failStatus = n, 0, status
}

func (f *fakeS3) listRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

func (f *fakeS3) newBucket(t testing.TB, name string) string {
	t.Helper()
	_, err := f.client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	require.NoError(t, err)
	return name
}

// put writes key with body and returns its normalized ETag.
func put(t testing.TB, c *s3.Client, bucket, key, body string) string {
	t.Helper()
	out, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	require.NoError(t, err)
	return s3feed.NormalizeETag(aws.ToString(out.ETag))
}

// putDirect writes key into the fake's backend, without HTTP: for filling
// large buckets fast.
func (f *fakeS3) putDirect(t testing.TB, bucket, key, body string) {
	t.Helper()
	_, err := f.backend.PutObject(bucket, key, map[string]string{}, strings.NewReader(body), int64(len(body)), nil)
	require.NoError(t, err)
}

func del(t testing.TB, c *s3.Client, bucket, key string) {
	t.Helper()
	_, err := c.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(t, err)
}

// listAll returns key → ETag of the bucket, listed with the SDK alone.
func listAll(t testing.TB, c *s3.Client, bucket string) map[string]string {
	t.Helper()
	out := map[string]string{}
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		require.NoError(t, err)
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = s3feed.NormalizeETag(aws.ToString(o.ETag))
		}
	}
	return out
}

// harness drives the source through feed.Local on pouchdb-server.
type harness struct {
	t     testing.TB
	local *feed.Local
	couch string // database URL

	mu       sync.Mutex
	payloads []json.RawMessage
	fires    int // fires accepted
	// failing makes fires fail once okBefore were accepted, failTimes
	// times (0: for ever).
	failing             bool
	okBefore, failTimes int
	failed              int
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	couch := testenv.CouchDB(t)
	db := testenv.NewDatabase(t, couch)
	st, err := feed.OpenStore(t.Context(), couch, db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	kr, err := feed.NewKeyring(strings.Repeat("5a", 32))
	require.NoError(t, err)
	h := &harness{t: t, couch: strings.TrimRight(couch, "/") + "/" + url.PathEscape(db)}
	h.local = &feed.Local{Store: st, Keyring: kr, Fire: h.fire}
	return h
}

var errInjected = fmt.Errorf("injected fire failure")

func (h *harness) fire(_ context.Context, _ string, payload any) (bool, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing && h.fires >= h.okBefore && (h.failTimes == 0 || h.failed < h.failTimes) {
		h.failed++
		return false, errInjected
	}
	h.fires++
	h.payloads = append(h.payloads, raw)
	return false, nil
}

// events returns the events fired since the last call, batches unwrapped.
func (h *harness) events() []s3feed.Event {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []s3feed.Event
	for _, raw := range h.payloads {
		var probe map[string]json.RawMessage
		require.NoError(h.t, json.Unmarshal(raw, &probe))
		if _, batch := probe["events"]; batch {
			var b s3feed.Batch
			require.NoError(h.t, json.Unmarshal(raw, &b))
			out = append(out, b.Events...)
			continue
		}
		var e s3feed.Event
		require.NoError(h.t, json.Unmarshal(raw, &e))
		out = append(out, e)
	}
	h.payloads = nil
	return out
}

// failFires makes fires fail after okBefore more are accepted, times times
// (0: for ever).
func (h *harness) failFires(okBefore, times int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failing, h.okBefore, h.failTimes, h.failed = true, h.fires+okBefore, times, 0
}

// healFires stops failing fires.
func (h *harness) healFires() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failing = false
}

// takePayloads returns the raw payloads fired since the last call.
func (h *harness) takePayloads() []json.RawMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.payloads
	h.payloads = nil
	return p
}

// create runs CREATE for trigger guest/name and returns the record id.
func (h *harness) create(src feed.Source, name string, params map[string]any) string {
	h.t.Helper()
	rec, err := h.local.Create(h.t.Context(), src, "guest", name, params)
	require.NoError(h.t, err)
	return rec.ID
}

// poll polls once and fails the test on a poll error.
func (h *harness) poll(src feed.Poller, id string) *feed.PollResult {
	h.t.Helper()
	res, err := h.local.Poll(h.t.Context(), src, id)
	require.NoError(h.t, err)
	require.Empty(h.t, res.Error, "poll error")
	return res
}

func (h *harness) record(id string) *feed.Record {
	h.t.Helper()
	rec, err := h.local.Store.Get(h.t.Context(), id)
	require.NoError(h.t, err)
	return rec
}

// updateSeq returns the database's update sequence number: it grows by
// one per document write.
func (h *harness) updateSeq() int {
	h.t.Helper()
	var info struct {
		UpdateSeq json.RawMessage `json:"update_seq"`
	}
	h.getJSON(h.couch, &info)
	s := strings.Trim(string(info.UpdateSeq), `"`)
	s, _, _ = strings.Cut(s, "-")
	n, err := strconv.Atoi(s)
	require.NoError(h.t, err, "update_seq %s", info.UpdateSeq)
	return n
}

// changedSince returns the ids of the documents written after seq.
func (h *harness) changedSince(seq int) []string {
	h.t.Helper()
	var ch struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	h.getJSON(h.couch+"/_changes?since="+strconv.Itoa(seq), &ch)
	var ids []string
	for _, r := range ch.Results {
		ids = append(ids, r.ID)
	}
	return ids
}

// chunkDocs returns the ids of the stored snapshot chunk documents.
func (h *harness) chunkDocs() []string {
	h.t.Helper()
	var all struct {
		Rows []struct {
			ID string `json:"id"`
		} `json:"rows"`
	}
	h.getJSON(h.couch+"/_all_docs?startkey="+url.QueryEscape(`"snap:"`)+"&endkey="+url.QueryEscape(`"snap:`+"\ufff0"+`"`), &all)
	var ids []string
	for _, r := range all.Rows {
		ids = append(ids, r.ID)
	}
	return ids
}

func (h *harness) getJSON(u string, v any) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodGet, u, nil)
	require.NoError(h.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	require.Equal(h.t, http.StatusOK, resp.StatusCode, "GET %s: %s", u, body)
	require.NoError(h.t, json.Unmarshal(body, v))
}

// baseParams are the parameters of a trigger on bucket of f.
func (f *fakeS3) params(bucket string, extra ...any) map[string]any {
	p := map[string]any{"bucket": bucket, "s3_endpoint": f.URL, "s3_access_key_id": "test", "s3_secret_access_key": "test-secret"}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i].(string)] = extra[i+1]
	}
	return p
}

// withDeadline returns a context that expires after d.
func withDeadline(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
