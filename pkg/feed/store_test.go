package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newStore opens a store on a fresh database and returns it with the
// database's URL.
func newStore(t *testing.T, opts ...feed.StoreOption) (*feed.Store, string) {
	t.Helper()
	couchURL := testenv.CouchDB(t)
	name := testenv.NewDatabase(t, couchURL)
	s, err := feed.OpenStore(t.Context(), couchURL, name, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, couchURL + "/" + name
}

// rawGet reads a document over plain HTTP, as an operator would see it.
func rawGet(t *testing.T, dbURL, id string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(dbURL + "/" + url.PathEscape(id))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

// docIDs lists the ids of live documents starting with prefix.
func docIDs(t *testing.T, dbURL, prefix string) []string {
	t.Helper()
	q := url.Values{"startkey": {jsonString(prefix)}, "endkey": {jsonString(prefix + "\ufff0")}}
	resp, err := http.Get(dbURL + "/_all_docs?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Rows []struct {
			ID string `json:"id"`
		} `json:"rows"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	ids := []string{}
	for _, r := range out.Rows {
		ids = append(ids, r.ID)
	}
	return ids
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct{ ms atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ms.Store(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli())
	return c
}
func (c *fakeClock) Now() time.Time           { return time.UnixMilli(c.ms.Load()) }
func (c *fakeClock) Advance(d time.Duration)  { c.ms.Add(d.Milliseconds()) }
func (c *fakeClock) option() feed.StoreOption { return feed.WithClock(c.Now) }
func createRecord(t *testing.T, s *feed.Store, ns, name string) *feed.Record {
	t.Helper()
	r := feed.NewRecord("s3-changes", ns, name)
	r.Config = json.RawMessage(`{"bucket":"b","interval":1}`)
	require.NoError(t, s.Create(t.Context(), r))
	return r
}

func TestOpenStoreCreatesDatabase(t *testing.T) {
	t.Parallel()
	couchURL := testenv.CouchDB(t)
	name := testenv.DatabaseName(t)
	status, _ := rawGet(t, couchURL, name)
	require.Equal(t, http.StatusNotFound, status)

	// Two actions starting at once both create the database: both succeed.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			s, err := feed.OpenStore(t.Context(), couchURL, name)
			if assert.NoError(t, err) {
				_ = s.Close()
			}
		})
	}
	wg.Wait()
	s, err := feed.OpenStore(t.Context(), couchURL, name)
	require.NoError(t, err)
	defer s.Close()
	status, _ = rawGet(t, couchURL, name)
	assert.Equal(t, http.StatusOK, status)

	// Opening an existing database keeps its documents.
	createRecord(t, s, "guest", "t")
	s2, err := feed.OpenStore(t.Context(), couchURL, name)
	require.NoError(t, err)
	defer s2.Close()
	_, err = s2.Get(t.Context(), feed.RecordID("guest", "t"))
	assert.NoError(t, err)
}

func TestOpenStoreUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = feed.OpenStore(ctx, "http://whisk:s3cr3tpw@"+addr, "whiskfeed")
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "http://"+addr)
	assert.Contains(t, msg, "unreachable")
	assert.NotContains(t, msg, "s3cr3tpw")
	assert.NotContains(t, msg, "whisk:")
}

func TestOpenStoreBadInput(t *testing.T) {
	t.Parallel()
	couchURL := testenv.CouchDB(t)
	cases := []struct {
		name, url, db, want string
	}{
		{"no scheme", "localhost:5984", "whiskfeed", "couchdb url"},
		{"ftp", "ftp://localhost", "whiskfeed", "couchdb url"},
		{"password not echoed", "couch://u:hunter2@host", "whiskfeed", "couchdb url"},
		{"upper-case db", couchURL, "WhiskFeed", "database name"},
		{"empty db", couchURL, "", "database name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := feed.OpenStore(t.Context(), tc.url, tc.db)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestRecordCRUD(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	id := feed.RecordID("guest", "uploads")

	_, err := s.Get(ctx, id)
	require.ErrorIs(t, err, feed.ErrNotFound)
	assert.Contains(t, err.Error(), "get record trigger:guest/uploads")

	r := createRecord(t, s, "guest", "uploads")
	assert.NotEmpty(t, r.Rev)
	assert.False(t, r.Created.IsZero())

	got, err := s.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, r.Rev, got.Rev)
	assert.Equal(t, "s3-changes", got.Kind)
	assert.JSONEq(t, `{"bucket":"b","interval":1}`, string(got.Config))
	assert.True(t, got.Status.Active)

	err = s.Create(ctx, feed.NewRecord("s3-changes", "guest", "uploads"))
	require.ErrorIs(t, err, feed.ErrConflict)

	updated, err := s.Update(ctx, id, func(r *feed.Record) error {
		r.Paused = true
		r.Alarm = feed.Alarm{Trigger: "a", Rule: "r"}
		return nil
	})
	require.NoError(t, err)
	assert.NotEqual(t, r.Rev, updated.Rev)
	got, err = s.Get(ctx, id)
	require.NoError(t, err)
	assert.True(t, got.Paused)
	assert.Equal(t, feed.Alarm{Trigger: "a", Rule: "r"}, got.Alarm)
	assert.Equal(t, updated.Rev, got.Rev)

	require.NoError(t, s.Delete(ctx, id))
	_, err = s.Get(ctx, id)
	require.ErrorIs(t, err, feed.ErrNotFound)
	require.NoError(t, s.Delete(ctx, id), "deleting twice succeeds")
	_, err = s.Update(ctx, id, func(*feed.Record) error { return nil })
	require.ErrorIs(t, err, feed.ErrNotFound)

	// Re-creating over the deleted record works.
	createRecord(t, s, "guest", "uploads")
}

func TestCreateRejectsInvalidRecord(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	cases := map[string]*feed.Record{
		"no kind":      feed.NewRecord("", "guest", "t"),
		"slash":        feed.NewRecord("k", "guest", "a/b"),
		"no namespace": feed.NewRecord("k", "", "t"),
		"id mismatch": func() *feed.Record {
			r := feed.NewRecord("k", "guest", "t")
			r.ID = "trigger:other/t"
			return r
		}(),
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			require.Error(t, s.Create(t.Context(), r))
		})
	}
}

func TestUpdateSkipAndError(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	r := createRecord(t, s, "guest", "t")

	got, err := s.Update(ctx, r.ID, func(r *feed.Record) error { return feed.ErrSkip })
	require.NoError(t, err)
	assert.Equal(t, r.Rev, got.Rev)

	boom := errors.New("boom")
	_, err = s.Update(ctx, r.ID, func(r *feed.Record) error {
		r.Paused = true
		return boom
	})
	require.ErrorIs(t, err, boom)

	stored, err := s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, r.Rev, stored.Rev, "nothing was written")
	assert.False(t, stored.Paused)
}

func TestConcurrentUpdatesAllApplied(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, feed.WithConflictRetries(100, time.Millisecond))
	ctx := t.Context()
	r := createRecord(t, s, "guest", "t")

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.Update(ctx, r.ID, func(r *feed.Record) error {
				r.Stats.Polls++
				r.UnknownParams = append(r.UnknownParams, fmt.Sprint("p", i))
				return nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.EqualValues(t, n, got.Stats.Polls)
	assert.Len(t, got.UnknownParams, n)
}

func TestUpdateGivesUpAfterConflicts(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, feed.WithConflictRetries(3, time.Millisecond))
	ctx := t.Context()
	r := createRecord(t, s, "guest", "t")

	calls := 0
	_, err := s.Update(ctx, r.ID, func(rec *feed.Record) error {
		calls++
		// Someone else writes between our read and our write, every time.
		_, err := s.Update(ctx, r.ID, func(other *feed.Record) error {
			other.Stats.Errors++
			return nil
		})
		require.NoError(t, err)
		rec.Paused = true
		return nil
	})
	require.ErrorIs(t, err, feed.ErrConflict)
	assert.Equal(t, 3, calls)
	got, err := s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.False(t, got.Paused)
	assert.EqualValues(t, 3, got.Stats.Errors)
}

func TestList(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()

	// More than one page (200) of guest records.
	const guests = 205
	for i := range guests {
		createRecord(t, s, "guest", fmt.Sprintf("t%03d", i))
	}
	other := feed.NewRecord("s3-notifications", "guest2", "n")
	require.NoError(t, s.Create(ctx, other))
	// Documents that are not records must not be listed.
	_, err := s.PutChunk(ctx, feed.RecordID("guest", "t000"), 1, 0, []byte("x"))
	require.NoError(t, err)
	require.NoError(t, feed.CreateDoc(ctx, s, &bucketDoc{DocMeta: feed.DocMeta{ID: "bucket:e/b"}}))

	count := func(f feed.ListFilter) (n int, names []string) {
		for r, err := range s.List(ctx, f) {
			require.NoError(t, err)
			n++
			names = append(names, r.Namespace+"/"+r.Name)
		}
		return n, names
	}
	n, names := count(feed.ListFilter{})
	assert.Equal(t, guests+1, n)
	assert.Equal(t, "guest/t000", names[0])
	assert.Equal(t, "guest/t200", names[200], "pages continue without gap or repeat")
	n, _ = count(feed.ListFilter{Kind: "s3-changes"})
	assert.Equal(t, guests, n)
	n, names = count(feed.ListFilter{Namespace: "guest2"})
	assert.Equal(t, []string{"guest2/n"}, names)
	n, _ = count(feed.ListFilter{Kind: "nope"})
	assert.Zero(t, n)

	// Stopping early is fine.
	for range s.List(ctx, feed.ListFilter{}) {
		break
	}
}

func TestStoreErrorsWhenCouchDBGoesAway(t *testing.T) {
	t.Parallel()
	// A proxy in front of pouchdb-server that can be cut.
	couchURL := testenv.CouchDB(t)
	target, err := url.Parse(couchURL)
	require.NoError(t, err)
	var down atomic.Bool
	proxy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			// Drop the connection, as a dead server would.
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
				}
			}
			return
		}
		req := r.Clone(r.Context())
		req.URL.Scheme, req.URL.Host, req.RequestURI = target.Scheme, target.Host, ""
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = proxy.Serve(l) }()
	t.Cleanup(func() { _ = proxy.Close() })

	s, err := feed.OpenStore(t.Context(), "http://"+l.Addr().String(), testenv.NewDatabase(t, couchURL))
	require.NoError(t, err)
	defer s.Close()
	r := createRecord(t, s, "guest", "t")

	down.Store(true)
	_, err = s.Get(t.Context(), r.ID)
	require.Error(t, err)
	assert.NotErrorIs(t, err, feed.ErrNotFound)
	assert.Contains(t, err.Error(), "get record trigger:guest/t")
	_, err = s.Update(t.Context(), r.ID, func(*feed.Record) error { return nil })
	require.Error(t, err)
	assert.NotErrorIs(t, err, feed.ErrNotFound)
}

// bucketDoc is the kind of small document the hooks feed keeps per bucket.
type bucketDoc struct {
	feed.DocMeta
	Subscribers []string `json:"subscribers"`
}

func TestGenericDocs(t *testing.T) {
	t.Parallel()
	s, dbURL := newStore(t, feed.WithConflictRetries(100, time.Millisecond))
	ctx := t.Context()
	const id = "bucket:http://minio:9000/photos"

	_, err := feed.GetDoc[bucketDoc](ctx, s, id)
	require.ErrorIs(t, err, feed.ErrNotFound)
	_, err = feed.UpdateDoc(ctx, s, id, func(d *bucketDoc) error { return nil })
	require.ErrorIs(t, err, feed.ErrNotFound)

	// Concurrent upserts of a missing document all land.
	const n = 6
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := feed.UpsertDoc(ctx, s, id, func(d *bucketDoc) error {
				d.Subscribers = append(d.Subscribers, fmt.Sprint("guest/t", i))
				return nil
			})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	d, err := feed.GetDoc[bucketDoc](ctx, s, id)
	require.NoError(t, err)
	assert.Len(t, d.Subscribers, n)
	assert.Equal(t, id, d.ID)

	status, _ := rawGet(t, dbURL, id)
	assert.Equal(t, http.StatusOK, status, "ids with ':' and '/' are stored as given")

	// Setting Deleted deletes; the next upsert starts from scratch.
	_, err = feed.UpdateDoc(ctx, s, id, func(d *bucketDoc) error {
		d.Deleted = true
		return nil
	})
	require.NoError(t, err)
	_, err = feed.GetDoc[bucketDoc](ctx, s, id)
	require.ErrorIs(t, err, feed.ErrNotFound)
	d, err = feed.UpsertDoc(ctx, s, id, func(d *bucketDoc) error {
		assert.Empty(t, d.Subscribers)
		assert.Equal(t, id, d.ID)
		d.Subscribers = []string{"guest/x"}
		return nil
	})
	require.NoError(t, err)
	assert.NotEmpty(t, d.Rev)

	require.ErrorIs(t, feed.CreateDoc(ctx, s, &bucketDoc{DocMeta: feed.DocMeta{ID: id}}), feed.ErrConflict)
	require.NoError(t, s.DeleteDoc(ctx, id))
	require.NoError(t, s.DeleteDoc(ctx, id))
}

func TestLeaseConcurrentAcquire(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	r := createRecord(t, s, "guest", "t")

	for round := range 3 {
		const n = 8
		var wins, held atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			holder := fmt.Sprintf("poll-%d-%d", round, i)
			wg.Go(func() {
				<-start
				_, err := s.AcquireLease(ctx, r.ID, holder, time.Minute)
				switch {
				case err == nil:
					wins.Add(1)
					winner.Store(holder)
				case errors.Is(err, feed.ErrLeaseHeld):
					held.Add(1)
				default:
					t.Errorf("acquire: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		require.EqualValues(t, 1, wins.Load(), "exactly one acquirer wins")
		require.EqualValues(t, n-1, held.Load())
		got, err := s.Get(ctx, r.ID)
		require.NoError(t, err)
		assert.Equal(t, winner.Load(), got.Lease.Holder)
		require.NoError(t, s.ReleaseLease(ctx, r.ID, got.Lease.Holder))
	}
}

func TestLeaseExpiryRenewRelease(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s, _ := newStore(t, clock.option())
	ctx := t.Context()
	r := createRecord(t, s, "guest", "t")

	got, err := s.AcquireLease(ctx, r.ID, "a", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, feed.Lease{Holder: "a", Until: clock.Now().Add(time.Minute).UnixMilli()}, got.Lease)

	_, err = s.AcquireLease(ctx, r.ID, "b", time.Minute)
	require.ErrorIs(t, err, feed.ErrLeaseHeld)
	assert.Contains(t, err.Error(), `"a"`)

	_, err = s.AcquireLease(ctx, r.ID, "a", time.Minute)
	require.NoError(t, err, "the holder may take its own lease again")

	_, err = s.UpdateHeld(ctx, r.ID, "a", func(r *feed.Record) error {
		r.Cursor = json.RawMessage(`{"n":1}`)
		return nil
	})
	require.NoError(t, err)

	clock.Advance(30 * time.Second)
	_, err = s.RenewLease(ctx, r.ID, "a", time.Minute)
	require.NoError(t, err)
	clock.Advance(61 * time.Second)

	// Expired: b takes over; a is fenced out.
	_, err = s.AcquireLease(ctx, r.ID, "b", time.Minute)
	require.NoError(t, err)
	_, err = s.RenewLease(ctx, r.ID, "a", time.Minute)
	require.ErrorIs(t, err, feed.ErrLeaseLost)
	_, err = s.UpdateHeld(ctx, r.ID, "a", func(r *feed.Record) error {
		r.Cursor = json.RawMessage(`{"n":2}`)
		return nil
	})
	require.ErrorIs(t, err, feed.ErrLeaseLost)
	require.NoError(t, s.ReleaseLease(ctx, r.ID, "a"), "releasing someone else's lease does nothing")

	got, err = s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, "b", got.Lease.Holder)
	assert.JSONEq(t, `{"n":1}`, string(got.Cursor))

	// Once expired, even the holder's lease no longer allows commits.
	clock.Advance(2 * time.Minute)
	_, err = s.UpdateHeld(ctx, r.ID, "b", func(*feed.Record) error { return nil })
	require.ErrorIs(t, err, feed.ErrLeaseLost, "an expired lease does not allow commits")

	require.NoError(t, s.ReleaseLease(ctx, r.ID, "b"))
	got, err = s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, feed.Lease{}, got.Lease)

	require.NoError(t, s.ReleaseLease(ctx, feed.RecordID("guest", "missing"), "b"))
	_, err = s.AcquireLease(ctx, feed.RecordID("guest", "missing"), "b", time.Minute)
	require.ErrorIs(t, err, feed.ErrNotFound)
}

// Keeping another kind of document with the same read-modify-write loop:
// here, the triggers subscribed to a bucket.
func ExampleUpsertDoc() {
	ctx := context.Background()
	s, err := feed.OpenStore(ctx, "http://127.0.0.1:5984", "whiskfeed")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	type bucket struct {
		feed.DocMeta
		Subscribers []string `json:"subscribers"`
	}
	// Subscribe; the document is created on first use.
	_, err = feed.UpsertDoc(ctx, s, "bucket:minio:9000/photos", func(b *bucket) error {
		b.Subscribers = append(b.Subscribers, "guest/uploads")
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Unsubscribe; the last one out deletes the document.
	_, err = feed.UpdateDoc(ctx, s, "bucket:minio:9000/photos", func(b *bucket) error {
		b.Subscribers = slices.DeleteFunc(b.Subscribers, func(t string) bool { return t == "guest/uploads" })
		b.Deleted = len(b.Subscribers) == 0
		return nil
	})
	if err != nil && !errors.Is(err, feed.ErrNotFound) {
		fmt.Println(err)
	}
}
