package feed

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/go-kivik/kivik/v4"
	"github.com/go-kivik/kivik/v4/couchdb"
)

// Sentinel errors of the store; match them with errors.Is.
var (
	// ErrNotFound: the document does not exist (or was deleted).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the document exists already (create), or its revision
	// kept changing under a read-modify-write until the retries ran out.
	ErrConflict = errors.New("conflict")
	// ErrLeaseHeld: another holder has an unexpired lease on the record.
	ErrLeaseHeld = errors.New("lease held")
	// ErrLeaseLost: the caller's lease was released or taken over.
	ErrLeaseLost = errors.New("lease lost")
	// ErrSkip may be returned by an update function to abort the update
	// without writing; the update then returns the document as read and
	// a nil error.
	ErrSkip = errors.New("skip update")
)

// Doc is the constraint of the generic document helpers: a pointer to a
// struct that embeds [DocMeta].
type Doc[T any] interface {
	*T
	Meta() *DocMeta
}

// Store keeps trigger records, other small documents and snapshot chunks in
// one CouchDB database. It is safe for concurrent use; it holds no context.
type Store struct {
	client   *kivik.Client
	db       *kivik.DB
	attempts int
	delay    time.Duration // first backoff between conflicting attempts
	maxDelay time.Duration
	now      func() time.Time
}

type storeConfig struct {
	httpClient *http.Client
	attempts   int
	delay      time.Duration
	maxDelay   time.Duration
	now        func() time.Time
}

// StoreOption configures [OpenStore].
type StoreOption func(*storeConfig)

// WithHTTPClient sets the HTTP client used to talk to CouchDB.
func WithHTTPClient(c *http.Client) StoreOption {
	return func(s *storeConfig) { s.httpClient = c }
}

// WithConflictRetries sets how many times a read-modify-write is attempted
// when CouchDB answers 409 conflict (default 10), and the first delay of the
// jittered exponential backoff between attempts (default 5 ms; 0 keeps it).
func WithConflictRetries(attempts int, firstDelay time.Duration) StoreOption {
	return func(s *storeConfig) {
		if attempts > 0 {
			s.attempts = attempts
		}
		if firstDelay > 0 {
			s.delay = firstDelay
		}
	}
}

// WithClock sets the clock used for leases and record timestamps.
func WithClock(now func() time.Time) StoreOption {
	return func(s *storeConfig) { s.now = now }
}

// dbNamePattern is what CouchDB accepts as a database name.
var dbNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_$()+/-]*$`)

// OpenStore connects to the CouchDB server at couchURL (credentials may be
// given in the URL) and opens database dbName, creating it when missing.
func OpenStore(ctx context.Context, couchURL, dbName string, opts ...StoreOption) (*Store, error) {
	cfg := storeConfig{attempts: 10, delay: 5 * time.Millisecond, maxDelay: 250 * time.Millisecond, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	u, err := url.Parse(couchURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("open store: couchdb url %q: expected http(s)://[user:password@]host[:port]", redactURL(couchURL))
	}
	where := redactURL(couchURL)
	if !dbNamePattern.MatchString(dbName) {
		return nil, fmt.Errorf("open store: database name %q: expected lowercase letters, digits and _$()+-/ starting with a letter", dbName)
	}
	kopts := []kivik.Option{couchdb.OptionNoRequestCompression()}
	if cfg.httpClient != nil {
		kopts = append(kopts, couchdb.OptionHTTPClient(cfg.httpClient))
	}
	client, err := kivik.New("couch", couchURL, kopts...)
	if err != nil {
		return nil, fmt.Errorf("open store: couchdb at %s: %w", where, err)
	}
	exists, err := client.DBExists(ctx, dbName)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("open store: couchdb at %s: %w", where, describeTransportErr(err))
	}
	if !exists {
		if err := client.CreateDB(ctx, dbName); err != nil && kivik.HTTPStatus(err) != http.StatusPreconditionFailed {
			_ = client.Close()
			return nil, fmt.Errorf("open store: create database %q at %s: %w", dbName, where, err)
		}
	}
	db := client.DB(dbName)
	if err := db.Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("open store: database %q at %s: %w", dbName, where, err)
	}
	return &Store{client: client, db: db, attempts: cfg.attempts, delay: cfg.delay, maxDelay: cfg.maxDelay, now: cfg.now}, nil
}

// redactURL returns raw without user information, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	u.User = nil
	return u.String()
}

// describeTransportErr names a network failure plainly; the request URL in
// net/http's message is dropped because it repeats the user name.
func describeTransportErr(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("unreachable: %w", uerr.Err)
	}
	return err
}

// Close releases the connections of the store.
func (s *Store) Close() error { return s.client.Close() }

// wrapErr maps a kivik error of operation op on document id to the store's
// sentinels, keeping other errors (and their kivik.HTTPStatus) wrapped.
func wrapErr(op, id string, err error) error {
	switch kivik.HTTPStatus(err) {
	case http.StatusNotFound:
		return fmt.Errorf("%s %s: %w", op, id, ErrNotFound)
	case http.StatusConflict:
		return fmt.Errorf("%s %s: %w", op, id, ErrConflict)
	}
	return fmt.Errorf("%s %s: %w", op, id, describeTransportErr(err))
}

// backoff waits before attempt+1 of a conflicting write, with full jitter.
func (s *Store) backoff(ctx context.Context, attempt int) error {
	d := s.delay << min(attempt, 16)
	if d > s.maxDelay || d <= 0 {
		d = s.maxDelay
	}
	t := time.NewTimer(rand.N(d) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// GetDoc reads document id into a new T.
func GetDoc[T any, P Doc[T]](ctx context.Context, s *Store, id string) (P, error) {
	return getDoc[T, P](ctx, s, "get", id)
}

func getDoc[T any, P Doc[T]](ctx context.Context, s *Store, op, id string) (P, error) {
	var d P = new(T)
	if err := s.db.Get(ctx, id).ScanDoc(d); err != nil {
		return nil, wrapErr(op, id, err)
	}
	return d, nil
}

// CreateDoc stores a new document under doc.Meta().ID and sets its revision.
// It returns an error wrapping [ErrConflict] when the id exists.
func CreateDoc[T any, P Doc[T]](ctx context.Context, s *Store, doc P) error {
	return createDoc[T, P](ctx, s, "create", doc)
}

func createDoc[T any, P Doc[T]](ctx context.Context, s *Store, op string, doc P) error {
	m := doc.Meta()
	if m.ID == "" {
		return fmt.Errorf("%s: document id is required", op)
	}
	if m.Rev != "" {
		return fmt.Errorf("%s %s: document has revision %s already", op, m.ID, m.Rev)
	}
	rev, err := s.db.Put(ctx, m.ID, doc)
	if err != nil {
		return wrapErr(op, m.ID, err)
	}
	m.Rev = rev
	return nil
}

// UpdateDoc reads document id, applies fn and writes the result, retrying
// from the read when CouchDB reports a conflict; fn may therefore run more
// than once and must only change the document it is given. fn may return
// [ErrSkip] to write nothing, or set Meta().Deleted to delete the document.
// A missing document gives an error wrapping [ErrNotFound].
func UpdateDoc[T any, P Doc[T]](ctx context.Context, s *Store, id string, fn func(P) error) (P, error) {
	return modifyDoc(ctx, s, "update", id, false, fn)
}

// UpsertDoc is [UpdateDoc] that hands fn a new document (zero value, id set,
// empty revision) when id does not exist, and creates it.
func UpsertDoc[T any, P Doc[T]](ctx context.Context, s *Store, id string, fn func(P) error) (P, error) {
	return modifyDoc(ctx, s, "upsert", id, true, fn)
}

func modifyDoc[T any, P Doc[T]](ctx context.Context, s *Store, op, id string, upsert bool, fn func(P) error) (P, error) {
	if id == "" {
		return nil, fmt.Errorf("%s: document id is required", op)
	}
	for attempt := 0; ; attempt++ {
		var d P = new(T)
		if err := s.db.Get(ctx, id).ScanDoc(d); err != nil {
			if !upsert || kivik.HTTPStatus(err) != http.StatusNotFound {
				return nil, wrapErr(op, id, err)
			}
			d = new(T)
			d.Meta().ID = id
		}
		if err := fn(d); err != nil {
			if errors.Is(err, ErrSkip) {
				return d, nil
			}
			return nil, fmt.Errorf("%s %s: %w", op, id, err)
		}
		m := d.Meta()
		m.ID = id
		var body any = d
		if m.Deleted {
			if m.Rev == "" {
				return d, nil // nothing stored, nothing to delete
			}
			body = DocMeta{ID: id, Rev: m.Rev, Deleted: true}
		}
		rev, err := s.db.Put(ctx, id, body)
		if err == nil {
			m.Rev = rev
			return d, nil
		}
		if kivik.HTTPStatus(err) != http.StatusConflict {
			return nil, wrapErr(op, id, err)
		}
		if attempt+1 >= s.attempts {
			return nil, fmt.Errorf("%s %s: %w after %d attempts", op, id, ErrConflict, s.attempts)
		}
		if err := s.backoff(ctx, attempt); err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, id, err)
		}
	}
}

// DeleteDoc deletes document id. It is idempotent: a missing document is
// not an error. Conflicting concurrent writes are retried.
func (s *Store) DeleteDoc(ctx context.Context, id string) error {
	return s.deleteDoc(ctx, "delete", id)
}

func (s *Store) deleteDoc(ctx context.Context, op, id string) error {
	for attempt := 0; ; attempt++ {
		rev, err := s.currentRev(ctx, id)
		if kivik.HTTPStatus(err) == http.StatusNotFound {
			return nil
		}
		if err != nil {
			return wrapErr(op, id, err)
		}
		_, err = s.db.Delete(ctx, id, rev)
		switch kivik.HTTPStatus(err) {
		case 0:
			return nil
		case http.StatusConflict, http.StatusNotFound:
			// pouchdb-server answers 404 to a stale revision where CouchDB
			// answers 409: read again, which tells whether it is gone.
		default:
			return wrapErr(op, id, err)
		}
		if attempt+1 >= s.attempts {
			return fmt.Errorf("%s %s: %w after %d attempts", op, id, ErrConflict, s.attempts)
		}
		if err := s.backoff(ctx, attempt); err != nil {
			return fmt.Errorf("%s %s: %w", op, id, err)
		}
	}
}

// currentRev reads the revision of document id from its body. kivik's
// GetRev is not used: it reads the ETag of a HEAD request, and
// pouchdb-server answers HEAD with an ETag that is not the revision.
func (s *Store) currentRev(ctx context.Context, id string) (string, error) {
	var m DocMeta
	if err := s.db.Get(ctx, id).ScanDoc(&m); err != nil {
		return "", err
	}
	return m.Rev, nil
}

// Get reads the record id (see [RecordID]).
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	return getDoc[Record](ctx, s, "get record", id)
}

// Create stores a new record; it sets Created and Updated when zero and the
// revision. It returns an error wrapping [ErrConflict] when the record exists.
func (s *Store) Create(ctx context.Context, r *Record) error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("create record: %w", err)
	}
	now := s.now().UTC()
	if r.Created.IsZero() {
		r.Created = now
	}
	if r.Updated.IsZero() {
		r.Updated = now
	}
	return createDoc[Record](ctx, s, "create record", r)
}

// Update applies fn to the record id as a read-modify-write (see
// [UpdateDoc]: fn may run several times, may return [ErrSkip]) and sets
// Updated. It returns the record as stored.
func (s *Store) Update(ctx context.Context, id string, fn func(*Record) error) (*Record, error) {
	return modifyDoc(ctx, s, "update record", id, false, func(r *Record) error {
		if err := fn(r); err != nil {
			return err
		}
		r.Updated = s.now().UTC()
		return nil
	})
}

// Delete deletes the record id and then every snapshot chunk of it. It is
// idempotent: deleting a missing record succeeds.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := s.deleteDoc(ctx, "delete record", id); err != nil {
		return err
	}
	if _, err := s.DeleteChunks(ctx, id, nil); err != nil {
		return fmt.Errorf("delete record %s: %w", id, err)
	}
	return nil
}

// ListFilter selects records; empty fields match everything.
type ListFilter struct {
	Kind      string
	Namespace string
}

// listPage is how many documents List reads per request.
const listPage = 200

// List iterates over the records matching f, in id order, reading them page
// by page. An error ends the iteration after being yielded.
func (s *Store) List(ctx context.Context, f ListFilter) iter.Seq2[*Record, error] {
	prefix := recordIDPrefix
	if f.Namespace != "" {
		prefix += f.Namespace + "/"
	}
	return func(yield func(*Record, error) bool) {
		for row, err := range s.allDocs(ctx, prefix, true) {
			if err != nil {
				yield(nil, fmt.Errorf("list records: %w", err))
				return
			}
			r := &Record{}
			if err := row.ScanDoc(r); err != nil {
				yield(nil, fmt.Errorf("list records: %w", err))
				return
			}
			if r.Type != RecordType || (f.Kind != "" && r.Kind != f.Kind) {
				continue
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

// allDocs iterates over the rows of _all_docs whose id starts with prefix,
// a page at a time. The row is valid only during the yield.
func (s *Store) allDocs(ctx context.Context, prefix string, includeDocs bool) iter.Seq2[*kivik.ResultSet, error] {
	return func(yield func(*kivik.ResultSet, error) bool) {
		params := map[string]any{
			"startkey":     prefix,
			"endkey":       prefix + "\ufff0",
			"limit":        listPage,
			"include_docs": includeDocs,
		}
		for {
			rs := s.db.AllDocs(ctx, kivik.Params(params))
			n, last := 0, ""
			for rs.Next() {
				n++
				last, _ = rs.ID()
				if !yield(rs, nil) {
					_ = rs.Close()
					return
				}
			}
			err := rs.Err()
			_ = rs.Close()
			if err != nil {
				yield(nil, describeTransportErr(err))
				return
			}
			if n < listPage {
				return
			}
			params["startkey"] = last
			params["skip"] = 1
		}
	}
}

// AcquireLease takes the poll lease of record id for holder until ttl from
// now. It fails with an error wrapping [ErrLeaseHeld] while another holder's
// lease is unexpired; the same holder renews its own lease. Two concurrent
// acquirers cannot both win: the write is conditional on the revision read.
func (s *Store) AcquireLease(ctx context.Context, id, holder string, ttl time.Duration) (*Record, error) {
	if holder == "" || ttl <= 0 {
		return nil, fmt.Errorf("acquire lease %s: holder and a positive ttl are required", id)
	}
	return modifyDoc(ctx, s, "acquire lease", id, false, func(r *Record) error {
		now := s.now()
		if r.Lease.Held(now) && r.Lease.Holder != holder {
			return fmt.Errorf("%w by %q until %s", ErrLeaseHeld, r.Lease.Holder, time.UnixMilli(r.Lease.Until).UTC().Format(time.RFC3339))
		}
		r.Lease = Lease{Holder: holder, Until: now.Add(ttl).UnixMilli()}
		return nil
	})
}

// RenewLease extends holder's lease of record id to ttl from now. It fails
// with an error wrapping [ErrLeaseLost] when holder no longer holds it.
func (s *Store) RenewLease(ctx context.Context, id, holder string, ttl time.Duration) (*Record, error) {
	if holder == "" || ttl <= 0 {
		return nil, fmt.Errorf("renew lease %s: holder and a positive ttl are required", id)
	}
	return modifyDoc(ctx, s, "renew lease", id, false, func(r *Record) error {
		if r.Lease.Holder != holder {
			return ErrLeaseLost
		}
		r.Lease.Until = s.now().Add(ttl).UnixMilli()
		return nil
	})
}

// ReleaseLease clears holder's lease of record id. Releasing a lease that
// holder does not hold, or of a missing record, does nothing.
func (s *Store) ReleaseLease(ctx context.Context, id, holder string) error {
	_, err := modifyDoc(ctx, s, "release lease", id, false, func(r *Record) error {
		if r.Lease.Holder != holder {
			return ErrSkip
		}
		r.Lease = Lease{}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// UpdateHeld is [Store.Update] fenced by the lease: it fails with an error
// wrapping [ErrLeaseLost], writing nothing, unless holder holds an unexpired
// lease on the record. Pollers commit cursors and snapshots with it.
func (s *Store) UpdateHeld(ctx context.Context, id, holder string, fn func(*Record) error) (*Record, error) {
	return s.Update(ctx, id, func(r *Record) error {
		if r.Lease.Holder != holder || !r.Lease.Held(s.now()) {
			return ErrLeaseLost
		}
		return fn(r)
	})
}

// Name returns the name of the store's database.
func (s *Store) Name() string { return s.db.Name() }
