package s3feed_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// couchProxy stands between the store and pouchdb-server and can fail or
// hold the requests for snapshot chunks.
type couchProxy struct {
	db     string
	direct *feed.Store // the same database, not through the proxy

	mu sync.Mutex
	// failPuts makes every chunk write fail once putsLeft more succeeded.
	failPuts bool
	putsLeft int
	// failGet fails reads of this chunk document.
	failGet string
	// gets counts the reads of chunks answered; reached is closed once
	// they are at least getsWanted.
	gets       int
	getsWanted int
	reached    chan struct{}
	// hold, when set, keeps chunk writes waiting until it is closed or the
	// request is canceled.
	hold chan struct{}
	// held receives a value when a chunk write starts waiting.
	held chan struct{}
}

// chunkDoc returns the chunk document whose data a request reads or
// writes, or "".
func (p *couchProxy) chunkDoc(r *http.Request) string {
	rest, ok := strings.CutPrefix(r.URL.Path, "/"+p.db+"/")
	if !ok || !strings.HasPrefix(rest, "snap:") {
		return ""
	}
	doc, ok := strings.CutSuffix(rest, "/data") // the id holds a slash: namespace/trigger
	if !ok {
		return ""
	}
	return doc
}

// failing decides whether to fail r; it may hold r first.
func (p *couchProxy) failing(r *http.Request) bool {
	doc := p.chunkDoc(r)
	if doc == "" {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		return doc == p.failGet
	case http.MethodPut:
		if p.hold != nil {
			hold, held := p.hold, p.held
			p.mu.Unlock()
			held <- struct{}{}
			select {
			case <-hold:
			case <-r.Context().Done():
			}
			p.mu.Lock()
		}
		if p.failPuts && p.putsLeft == 0 {
			return true
		}
		p.putsLeft--
	}
	return false
}

func (p *couchProxy) set(f func(p *couchProxy)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// newProxiedHarness is newHarness with its store behind a couchProxy.
func newProxiedHarness(t *testing.T) (*harness, *couchProxy) {
	t.Helper()
	couch := testenv.CouchDB(t)
	db := testenv.NewDatabase(t, couch)
	target, err := url.Parse(couch)
	require.NoError(t, err)
	direct, err := feed.OpenStore(t.Context(), couch, db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = direct.Close() })
	p := &couchProxy{db: db, direct: direct}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.failing(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":"unknown_error","reason":"injected failure"}`)
			return
		}
		rp.ServeHTTP(w, r)
		if r.Method == http.MethodGet && p.chunkDoc(r) != "" {
			p.set(func(p *couchProxy) {
				p.gets++
				if p.reached != nil && p.gets == p.getsWanted {
					close(p.reached)
				}
			})
		}
	}))
	t.Cleanup(srv.Close)
	st, err := feed.OpenStore(t.Context(), srv.URL, db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	kr, err := feed.NewKeyring(strings.Repeat("5a", 32))
	require.NoError(t, err)
	h := &harness{t: t, couch: strings.TrimRight(couch, "/") + "/" + url.PathEscape(db)}
	h.local = &feed.Local{Store: st, Keyring: kr, Fire: h.fire}
	return h, p
}

// assertStoredSnapshot checks that every chunk the record refers to is
// stored, with the bytes its ref describes.
func assertStoredSnapshot(t *testing.T, h *harness, p *couchProxy, id string) {
	t.Helper()
	rec := h.record(id)
	docs := h.chunkDocs()
	for _, ref := range rec.Snapshot.Chunks {
		assert.Contains(t, docs, ref.ID, "the snapshot refers to a stored chunk")
		_, err := p.direct.GetChunk(t.Context(), ref)
		assert.NoError(t, err, "chunk %s reads back as recorded", ref.ID)
	}
}

// overwriteAll writes every key of keys again with a new body.
func overwriteAll(t *testing.T, f *fakeS3, bucket string, keys []string, body string) map[string]string {
	t.Helper()
	want := map[string]string{}
	for _, k := range keys {
		want[k] = put(t, f.client, bucket, k, body)
	}
	return want
}

func keyList(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("logs/2026/11/25/part-%04d.json.gz", i)
	}
	return keys
}

// assertNoGaps checks that the events of the polls announce every
// modification in want, none more than twice, each poll in key order.
func assertNoGaps(t *testing.T, bucket string, want map[string]string, polls ...[]s3feed.Event) {
	t.Helper()
	fired := map[string]int{}
	for _, events := range polls {
		keys := make([]string, 0, len(events))
		for _, c := range changesOf(t, bucket, events) {
			assert.Equal(t, s3feed.StatusModified, c.Status)
			assert.Equal(t, want[c.Key], c.ETag, "%s announced with its new ETag", c.Key)
			fired[c.Key]++
			keys = append(keys, c.Key)
		}
		assert.True(t, slices.IsSorted(keys), "events of a poll in key order")
	}
	for k := range want {
		assert.Contains(t, fired, k, "%s announced", k)
	}
	for k, n := range fired {
		assert.LessOrEqual(t, n, 2, "%s announced at most once more", k)
	}
}

// TestChunkWriteFailureKeepsStoredProgress fails the chunk writes of a poll
// from some point on, while other writes are under way and later steps are
// merged: the record refers only to chunks that were stored, and the next
// poll announces what the failing one did not keep.
func TestChunkWriteFailureKeepsStoredProgress(t *testing.T) {
	tests := []struct {
		name   string
		failAt int // chunk writes that succeed first
	}{{"first write", 0}, {"after three writes", 3}, {"late", 10}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeS3(t)
			h, proxy := newProxiedHarness(t)
			src := s3feed.Changes(smallChunks, s3feed.WithPageSize(5))
			bucket := f.newBucket(t, "writes")
			keys := keyList(300)
			for _, k := range keys {
				f.putDirect(t, bucket, k, "v1")
			}
			id := h.create(src, "t", f.params(bucket))
			// A failed write is seen at the latest when the write two
			// chunks later waits for its slot: the poll stops before the
			// end of the listing.
			require.Greater(t, len(h.record(id).Snapshot.Chunks), tc.failAt+6, "the snapshot spans more chunks than the writes let through")
			want := overwriteAll(t, f, bucket, keys, "v2") // every chunk changes

			proxy.set(func(p *couchProxy) { p.failPuts, p.putsLeft = true, tc.failAt })
			res, err := h.local.Poll(t.Context(), src, id)
			require.NoError(t, err)
			assert.Contains(t, res.Error, "store snapshot chunk", "the poll reports the failed write")
			first := h.events()
			assertStoredSnapshot(t, h, proxy, id)
			assert.Less(t, len(first), len(keys), "the failure stopped the poll")

			proxy.set(func(p *couchProxy) { p.failPuts = false })
			h.poll(src, id)
			second := h.events()
			assertNoGaps(t, bucket, want, first, second)
			assertStoredSnapshot(t, h, proxy, id)
			assert.Zero(t, h.poll(src, id).Events, "then nothing is pending")
		})
	}
}

// TestChunkReadFailureStopsAtFailurePoint fails the read of one chunk of
// the previous snapshot, read ahead while earlier ones are merged: no event
// comes from its range or after it, and the next poll announces the rest.
func TestChunkReadFailureStopsAtFailurePoint(t *testing.T) {
	f := newFakeS3(t)
	h, proxy := newProxiedHarness(t)
	src := s3feed.Changes(smallChunks, s3feed.WithPageSize(5))
	bucket := f.newBucket(t, "reads")
	keys := keyList(150)
	for _, k := range keys {
		f.putDirect(t, bucket, k, "v1")
	}
	id := h.create(src, "t", f.params(bucket))
	chunks := h.record(id).Snapshot.Chunks
	require.Greater(t, len(chunks), 4)
	broken := chunks[3]
	want := overwriteAll(t, f, bucket, keys, "v2")

	proxy.set(func(p *couchProxy) { p.failGet = broken.ID })
	res, err := h.local.Poll(t.Context(), src, id)
	require.NoError(t, err)
	assert.Contains(t, res.Error, broken.ID, "the poll names the chunk it could not read")
	first := h.events()
	require.NotEmpty(t, first, "the chunks before the broken one were merged")
	for _, e := range first {
		assert.Less(t, e.Key, broken.First, "nothing announced from the broken chunk on")
	}
	assertStoredSnapshot(t, h, proxy, id)

	proxy.set(func(p *couchProxy) { p.failGet = "" })
	h.poll(src, id)
	second := h.events()
	assertNoGaps(t, bucket, want, first, second)
	assert.Zero(t, h.poll(src, id).Events)
}

// TestChangedChunksOnlyAreWritten modifies objects in some chunks of the
// snapshot: exactly those chunks are written again, the others reused.
func TestChangedChunksOnlyAreWritten(t *testing.T) {
	tests := []struct {
		name    string
		touched []int // chunks of the snapshot with a modified object
	}{{"one chunk", []int{2}}, {"two chunks", []int{0, 4}}, {"every other chunk", []int{1, 3, 5, 7}}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeS3(t)
			h := newHarness(t)
			src := s3feed.Changes(smallChunks, s3feed.WithPageSize(7))
			bucket := f.newBucket(t, "reuse")
			for _, k := range keyList(150) {
				f.putDirect(t, bucket, k, "v1")
			}
			id := h.create(src, "t", f.params(bucket))
			chunks := h.record(id).Snapshot.Chunks
			require.Greater(t, len(chunks), slices.Max(tc.touched))
			for _, i := range tc.touched {
				put(t, f.client, bucket, chunks[i].First, "v2") // a new ETag moves no boundary
			}
			before := h.chunkDocs()
			assert.EqualValues(t, len(tc.touched), h.poll(src, id).Events)
			var written []string
			for _, doc := range h.chunkDocs() {
				if !slices.Contains(before, doc) {
					written = append(written, doc)
				}
			}
			assert.Len(t, written, len(tc.touched), "one chunk written per chunk changed")
			after := h.record(id).Snapshot.Chunks
			require.Len(t, after, len(chunks), "boundaries unchanged")
			for i := range chunks {
				assert.Equal(t, slices.Contains(tc.touched, i), after[i].ID != chunks[i].ID, "chunk %d rewritten only if changed", i)
			}
		})
	}
}

// pollGoroutines returns the stacks of the goroutines running s3feed code
// of a poll.
func pollGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "s3feed.(*aheadPager)") || strings.Contains(g, "s3feed.(*run)") {
			found = append(found, g)
		}
	}
	return found
}

// TestCanceledPollLeavesNoGoroutine cancels a poll while chunk writes are
// under way and pages are read ahead: when Poll returns, the goroutines it
// started have ended, and the record refers only to stored chunks.
func TestCanceledPollLeavesNoGoroutine(t *testing.T) {
	f := newFakeS3(t)
	h, proxy := newProxiedHarness(t)
	src := s3feed.Changes(smallChunks, s3feed.WithPageSize(5))
	bucket := f.newBucket(t, "cancel")
	keys := keyList(150)
	for _, k := range keys {
		f.putDirect(t, bucket, k, "v1")
	}
	id := h.create(src, "t", f.params(bucket))
	want := overwriteAll(t, f, bucket, keys, "v2")

	// Chunk writes wait; once both are under way, the poll is canceled.
	// The listing is slow, so that the chunks read ahead wait for the
	// merge meanwhile.
	hold := make(chan struct{})
	held := make(chan struct{}, 100)
	proxy.set(func(p *couchProxy) { p.hold, p.held = hold, held })
	f.mu.Lock()
	f.listDelay = 5 * time.Millisecond
	f.mu.Unlock()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		<-held
		<-held
		cancel()
		close(hold)
	}()
	res, err := h.local.Poll(ctx, src, id)
	if err == nil {
		assert.NotEmpty(t, res.Error, "the canceled poll reports it")
	}
	assert.Empty(t, pollGoroutines(), "no goroutine of the poll is left")
	assertStoredSnapshot(t, h, proxy, id)

	proxy.set(func(p *couchProxy) { p.hold = nil })
	first := h.events()
	h.poll(src, id)
	assertNoGaps(t, bucket, want, first, h.events())
	assert.Zero(t, h.poll(src, id).Events)
}

// listingHold is a proxy in front of a fake S3 that can hold a listing
// request until released or canceled.
type listingHold struct {
	URL string

	mu     sync.Mutex
	lists  int
	holdAt int           // the listing request to hold, counted from the first; 0: none
	held   chan struct{} // closed when it is held
}

func newListingHold(t *testing.T, f *fakeS3, release <-chan struct{}) *listingHold {
	t.Helper()
	target, err := url.Parse(f.URL)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	l := &listingHold{held: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2" {
			l.mu.Lock()
			l.lists++
			hold := l.lists == l.holdAt
			l.mu.Unlock()
			if hold {
				close(l.held)
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	l.URL = srv.URL
	return l
}

// holdFromNow holds the n-th listing request from now on.
func (l *listingHold) holdFromNow(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holdAt = l.lists + n
}

// TestCanceledPollStopsReadingAhead cancels a poll while it waits for a
// listing page and the chunks of the previous snapshot read ahead wait for
// the merge: when Poll returns, no goroutine of the poll is left, and the
// next poll announces every change.
func TestCanceledPollStopsReadingAhead(t *testing.T) {
	f := newFakeS3(t)
	h, proxy := newProxiedHarness(t)
	src := s3feed.Changes(smallChunks, s3feed.WithPageSize(5), s3feed.WithRetry(1, 0))
	bucket := f.newBucket(t, "cancel-reads")
	keys := keyList(150)
	for _, k := range keys {
		f.putDirect(t, bucket, k, "v1")
	}
	release := make(chan struct{})
	defer close(release)
	s3 := newListingHold(t, f, release)
	params := f.params(bucket)
	params["s3_endpoint"] = s3.URL
	id := h.create(src, "t", params)
	want := overwriteAll(t, f, bucket, keys, "v2")

	// While the third page waits, the merge holds the chunk that page 2
	// ends in (or the next one, when page 2 ends it), and the chunks after
	// it are read ahead.
	chunks := h.record(id).Snapshot.Chunks
	holding := 0
	for holding < len(chunks) && chunks[holding].Last <= keys[9] {
		holding++
	}
	reads := holding + 1 + 3 // s3feed reads three chunks ahead
	require.Less(t, reads, len(chunks), "the snapshot goes on after the chunks read ahead")
	read := make(chan struct{})
	proxy.set(func(p *couchProxy) { p.gets, p.getsWanted, p.reached = 0, reads, read })
	s3.holdFromNow(3)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		<-s3.held
		<-read
		cancel()
	}()
	res, err := h.local.Poll(ctx, src, id)
	if err == nil {
		assert.NotEmpty(t, res.Error, "the canceled poll reports it")
	}
	assert.Empty(t, pollGoroutines(), "no goroutine of the poll is left")
	assertStoredSnapshot(t, h, proxy, id)
	var gets int
	proxy.set(func(p *couchProxy) { gets = p.gets })
	assert.Equal(t, reads, gets, "chunks read: the one merged and three ahead")

	first := h.events()
	h.poll(src, id)
	assertNoGaps(t, bucket, want, first, h.events())
	assert.Zero(t, h.poll(src, id).Events)
}
