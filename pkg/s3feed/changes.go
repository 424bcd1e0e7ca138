package s3feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
)

// KindChanges is the kind of the polling S3 source.
const KindChanges = "s3-changes"

// ChangesSource is the polling S3 source: each poll lists the bucket, merges
// the listing with the snapshot kept from the previous poll, fires an event
// per object added, modified (ETag changed) or deleted, and keeps the new
// listing as the next snapshot. Build it with Changes. It holds no
// per-trigger state and is safe for concurrent use.
//
// The snapshot is stored as chunks (see Builder) through the session; the
// cursor holds the content hash of each chunk, parallel to the session's
// chunk list, and, while a pass over a large bucket is unfinished, where it
// continues. A poll that nears its deadline stops at a step, stores what it
// merged and fired, and the next poll lists on from that key (ListObjectsV2
// StartAfter, which, unlike a continuation token, can resume at any key and
// never expires). A listing that fails part-way keeps the same progress and
// returns the error; nothing after the failure point is reported, so a
// partial listing never looks like deletions.
//
// A poll overlaps its requests: the next listing page and the next chunks of
// the previous snapshot are read while the current ones are merged, and new
// chunks are written in the background, at most two at a time. Events still
// come in key order, and a snapshot never refers to a chunk whose write did
// not succeed: a failed write keeps the progress up to the last chunk stored
// before it, and the events of the steps merged meanwhile are fired again by
// the next poll (duplicates, never gaps).
type ChangesSource struct {
	client          ClientOptions
	pageSize        int
	pagesPerPoll    int
	checkpointEvery time.Duration
	chunkOpts       []BuilderOption
	now             func() time.Time
}

var (
	_ feed.Poller     = (*ChangesSource)(nil)
	_ feed.Baseliner  = (*ChangesSource)(nil)
	_ feed.Validator  = (*ChangesSource)(nil)
	_ feed.Batcher    = (*ChangesSource)(nil)
	_ feed.StateKeyer = (*ChangesSource)(nil)
)

// ChangesOption configures Changes.
type ChangesOption func(*ChangesSource)

// WithHTTPClient sets the HTTP client of the S3 requests (default: the
// default transport, each attempt timing out after 20 s).
func WithHTTPClient(c *http.Client) ChangesOption {
	return func(s *ChangesSource) { s.client.HTTPClient = c }
}

// WithRetry sets how many attempts one S3 request gets (default 3) and how
// long one attempt may take (default 20 s; ignored with WithHTTPClient).
func WithRetry(attempts int, perAttempt time.Duration) ChangesOption {
	return func(s *ChangesSource) { s.client.MaxAttempts, s.client.RequestTimeout = attempts, perAttempt }
}

// WithPageSize sets the keys asked for per ListObjectsV2 request (default
// and most useful: DefaultPageSize).
func WithPageSize(n int) ChangesOption {
	return func(s *ChangesSource) { s.pageSize = n }
}

// WithPagesPerPoll bounds the listing pages one poll (or CREATE) reads; the
// next poll continues where it stopped. 0, the default, bounds it only by
// the deadline.
func WithPagesPerPoll(n int) ChangesOption {
	return func(s *ChangesSource) { s.pagesPerPoll = n }
}

// WithCheckpointEvery sets how often a long poll stores its progress while it
// lists (default 30 s), so that a crash loses little work. A poll shorter
// than that writes the record once, at its end.
func WithCheckpointEvery(d time.Duration) ChangesOption {
	return func(s *ChangesSource) { s.checkpointEvery = d }
}

// WithChunkOptions sets the options of the snapshot Builder (chunk sizes,
// compression).
func WithChunkOptions(opts ...BuilderOption) ChangesOption {
	return func(s *ChangesSource) { s.chunkOpts = opts }
}

// Changes returns the polling S3 source, kind "s3-changes".
func Changes(opts ...ChangesOption) *ChangesSource {
	s := &ChangesSource{pageSize: DefaultPageSize, checkpointEvery: 30 * time.Second, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Kind returns "s3-changes".
func (*ChangesSource) Kind() string { return KindChanges }

// Configure reads bucket, s3_endpoint, s3_region, s3_access_key_id,
// s3_secret_access_key, s3_path_style, prefix, suffix, events and initial,
// and returns ChangesSettings. It does no I/O.
func (*ChangesSource) Configure(p *feed.Params) (any, error) {
	return ConfigureChanges(p), nil
}

// StateKeys are the settings the snapshot depends on: changing one in an
// UPDATE records a new baseline. Filters (suffix, events) and credentials
// do not.
func (*ChangesSource) StateKeys() []string {
	return []string{ParamBucket, ParamEndpoint, ParamPrefix}
}

// Batch wraps events in one payload, {"bucket": …, "events": […]}.
func (*ChangesSource) Batch(t *feed.Trigger, events []feed.Event) any {
	b := Batch{Events: make([]Event, 0, len(events))}
	for _, e := range events {
		if ev, ok := e.Data.(Event); ok {
			b.Bucket = ev.Bucket
			b.Events = append(b.Events, ev)
		}
	}
	if b.Bucket == "" {
		var s ChangesSettings
		if t.Settings(&s) == nil {
			b.Bucket = s.Bucket
		}
	}
	return b
}

// Validate lists one key of the bucket with the trigger's credentials. A
// refusal that retrying will not fix (missing bucket, refused or unknown
// credentials, wrong region) wraps feed.ErrInvalidParams, so the lifecycle
// answers 400; an unreachable store is a *feed.SourceError (502).
func (s *ChangesSource) Validate(ctx context.Context, t *feed.Trigger) error {
	cfg, client, err := s.open(t)
	if err != nil {
		return err
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(cfg.Bucket), MaxKeys: aws.Int32(1)}
	if cfg.Prefix != "" {
		in.Prefix = aws.String(cfg.Prefix)
	}
	_, err = client.ListObjectsV2(ctx, in)
	if err == nil {
		return nil
	}
	err = ClassifyError(cfg.BucketConfig, err)
	var be *BucketError
	if errors.As(err, &be) && be.Permanent {
		return fmt.Errorf("%w: %w", feed.ErrInvalidParams, err)
	}
	return &feed.SourceError{Err: fmt.Errorf("check bucket %q: %w", cfg.Bucket, err)}
}

func (s *ChangesSource) open(t *feed.Trigger) (ChangesSettings, *s3.Client, error) {
	var cfg ChangesSettings
	if err := t.Settings(&cfg); err != nil {
		return cfg, nil, err
	}
	if cfg.Bucket == "" {
		return cfg, nil, fmt.Errorf("trigger %s: settings name no bucket", t)
	}
	return cfg, NewClient(cfg.BucketConfig, t.Secret(ParamSecretKey), s.client), nil
}

// Baseline records the listing at CREATE without announcing it, or, with
// initial=announce, an empty snapshot, so that the first poll announces
// every object as added. A bucket too large to list within CREATE's
// deadline is finished by the following polls, which announce only the
// objects of the unlisted part modified after CREATE began.
func (s *ChangesSource) Baseline(ctx context.Context, ses *feed.Session) error {
	var cfg ChangesSettings
	if err := ses.Trigger.Settings(&cfg); err != nil {
		return err
	}
	if cfg.Initial == InitialAnnounce {
		ses.SetObjects(0)
		return ses.CommitSnapshot(ctx, cursor{V: cursorVersion, Chunks: []cursorChunk{}}, nil)
	}
	return s.Poll(ctx, ses)
}

// Poll merges the listing with the snapshot and fires the changes; see
// ChangesSource.
func (s *ChangesSource) Poll(ctx context.Context, ses *feed.Session) error {
	cfg, client, err := s.open(ses.Trigger)
	if err != nil {
		return err
	}
	r, err := s.newRun(ctx, ses, cfg, client)
	if err != nil {
		return err
	}
	return r.run(ctx)
}

// cursorVersion is the version of the cursor layout.
const cursorVersion = 1

// cursor is what an s3-changes trigger keeps between polls.
type cursor struct {
	V int `json:"v"`
	// Chunks holds, for each chunk of the committed snapshot, in the order
	// of Session.Chunks, its content hash and After (see ChunkRef); the
	// session's refs hold the rest (document id, keys, count).
	Chunks []cursorChunk `json:"chunks"`
	// Resume is set while a pass over the bucket is unfinished.
	Resume *resumePoint `json:"resume,omitempty"`
}

type cursorChunk struct {
	Hash  string `json:"h"`
	After string `json:"a,omitempty"`
}

// resumePoint is where an unfinished pass continues.
type resumePoint struct {
	// After is the last key merged: the snapshot holds the new listing up
	// to it and the previous one after it.
	After string `json:"after"`
	// Objects counts the objects listed up to After.
	Objects int64 `json:"objects"`
	// Quiet marks a pass that records a baseline: its changes are not
	// announced, except objects modified at or after Since.
	Quiet bool      `json:"quiet,omitempty"`
	Since time.Time `json:"since,omitzero"`
}

// quietSince returns from when a quiet pass starting at now announces
// objects: S3 times have a precision of one second, so an object written in
// the second the pass began is announced (a possible duplicate, never a gap).
func quietSince(now time.Time) time.Time { return now.Truncate(time.Second).UTC() }

// minReserve is the least time kept before the deadline to store progress.
const minReserve = 250 * time.Millisecond

// How far a poll reads ahead and writes behind. A listing page takes a
// request of tens of milliseconds, longer than merging it; a snapshot chunk
// spans a few pages, but its read from CouchDB may queue behind chunk
// writes, so several are read ahead (their stored bytes only: they are
// decoded when merged). The memory this takes is a page and a few
// compressed chunks.
const (
	listingAhead   = 1 // listing pages read ahead
	snapshotAhead  = 3 // chunks of the previous snapshot read ahead
	writesInFlight = 2 // chunk writes under way at once
)

// stopGrace is how long storing progress may take once the poll's context
// has expired; the toolkit keeps more margin than this before the
// activation's own deadline.
const stopGrace = 1500 * time.Millisecond

// run is one poll of one trigger.
type run struct {
	src    *ChangesSource
	ses    *feed.Session
	cfg    ChangesSettings
	filter Filter

	head    []ChunkRef               // snapshot chunks before the resume point: kept as is
	headIDs []feed.ChunkRef          // their stored refs
	prev    Manifest                 // the previous snapshot after the resume point
	known   map[string]feed.ChunkRef // stored chunks by content hash
	resume  resumePoint              // the pass's position when this poll began

	builder *Builder
	listing Pager        // the bucket's listing after the resume point
	fetch   ChunkFetcher // reads a chunk of the previous snapshot
	differ  *Differ
	written []ChunkRef      // chunks of the new listing completed and stored in this poll
	refs    []feed.ChunkRef // their stored refs
	index   int             // next chunk index of this generation

	// Chunk writes under way or not yet collected, in listing order.
	pending  []*chunkWrite
	slots    chan struct{} // one token per write under way
	writing  sync.WaitGroup
	writeErr error // the first failed write: no chunk after it is kept

	through  string // every key <= through was merged, its events emitted
	steps    int    // steps merged in this poll
	pages    int    // listing pages requested in this poll
	deadline time.Time
	reserve  time.Duration
	slowest  time.Duration
	lastSave time.Time
	saved    int // len(written) at the last checkpoint
}

func (s *ChangesSource) newRun(ctx context.Context, ses *feed.Session, cfg ChangesSettings, client *s3.Client) (*run, error) {
	r := &run{src: s, ses: ses, cfg: cfg, filter: cfg.Filter(), known: map[string]feed.ChunkRef{}, lastSave: s.now(),
		slots: make(chan struct{}, writesInFlight)}
	var cur cursor
	ok, err := ses.Cursor(&cur)
	if err != nil {
		return nil, err
	}
	stored := ses.Chunks()
	if !ok || cur.V != cursorVersion || len(cur.Chunks) != len(stored) {
		// No usable state (never baselined, or reset by an UPDATE whose
		// baseline failed): start from an empty snapshot. With
		// initial=baseline the pass records a baseline quietly.
		cur = cursor{V: cursorVersion}
		stored = nil
		if cfg.Initial != InitialAnnounce {
			cur.Resume = &resumePoint{Quiet: true, Since: quietSince(s.now())}
		}
	}
	if ses.Baseline() && cur.Resume == nil {
		cur.Resume = &resumePoint{Quiet: true, Since: quietSince(s.now())}
	}
	full := Manifest{Chunks: make([]ChunkRef, len(stored))}
	for i, ref := range stored {
		full.Chunks[i] = ChunkRef{Hash: cur.Chunks[i].Hash, First: ref.First, Last: ref.Last, Count: int(ref.Count), After: cur.Chunks[i].After}
		r.known[cur.Chunks[i].Hash] = ref
	}
	if cur.Resume != nil {
		r.resume = *cur.Resume
	}
	r.through = r.resume.After
	// The snapshot is the new listing up to the resume point, then the
	// previous one.
	n := 0
	for n < len(full.Chunks) && full.Chunks[n].Last <= r.resume.After {
		n++
	}
	r.head, r.headIDs = full.Chunks[:n], stored[:n]
	r.prev = Manifest{Chunks: full.Chunks[n:]}.Tail(r.resume.After)

	opts := append([]BuilderOption{WithKnownChunk(func(h string) bool { _, ok := r.known[h]; return ok })}, s.chunkOpts...)
	if r.builder, err = NewBuilder(opts...); err != nil {
		return nil, err
	}
	// The previous snapshot is read ahead, in another goroutine, from a map
	// of its own: known grows as this poll stores chunks.
	previous := maps.Clone(r.known)
	fetch := func(ctx context.Context, ref ChunkRef) ([]byte, error) {
		stored, ok := previous[ref.Hash]
		if !ok {
			return nil, fmt.Errorf("chunk %s: not in the session's snapshot", ref.Hash)
		}
		return ses.ReadChunk(ctx, stored)
	}
	r.listing = ListPager(client, cfg.Bucket, cfg.Prefix, r.resume.After, s.pageSize)
	r.fetch = fetch

	if d, ok := ctx.Deadline(); ok {
		r.deadline = d
		r.reserve = max(time.Until(d)/10, minReserve)
	}
	return r, nil
}

// run merges to the end of the listing, or stops early and keeps its
// progress for the next poll. The listing and the previous snapshot's chunks
// are read ahead in goroutines, which, like the chunk writes, have ended
// when it returns.
func (r *run) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	listing := readAhead(ctx, r.listing, listingAhead, r.src.pagesPerPoll)
	chunks := fetchAhead(ctx, r.prev.Chunks, r.fetch, snapshotAhead)
	defer func() {
		cancel()
		listing.close()
		chunks.close()
		r.writing.Wait()
	}()
	counted := PagerFunc(func(ctx context.Context) ([]Object, error) {
		r.pages++
		page, err := listing.NextPage(ctx)
		if err != nil && !errors.Is(err, io.EOF) {
			err = sourceError(ClassifyError(r.cfg.BucketConfig, err))
		}
		return page, err
	})
	r.differ = NewDiffer(r.prev.Pager(chunks.fetch), counted)
	for {
		if r.mustStop() {
			return r.stop(ctx, nil)
		}
		started := r.src.now()
		step, err := r.differ.Next(ctx)
		if errors.Is(err, io.EOF) {
			return r.finish(ctx)
		}
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
				// Out of time in a request: an early stop, not a failure.
				err = nil
			}
			return r.stop(ctx, err)
		}
		if err := r.collect(false); err != nil {
			// A chunk could not be stored: fire nothing more.
			return r.salvage(ctx, err)
		}
		if err := r.emit(ctx, step.Changes); err != nil {
			// Events up to the previous step were emitted: keep that.
			return r.stop(ctx, err)
		}
		for _, o := range step.Listed {
			c, err := r.builder.Add(o)
			if err != nil {
				return err
			}
			if err := r.keep(ctx, c); err != nil {
				return r.salvage(ctx, err)
			}
		}
		if step.Through != "" {
			r.through = step.Through
		}
		r.steps++
		r.slowest = max(r.slowest, r.src.now().Sub(started))
		if err := r.checkpoint(ctx); err != nil {
			return err
		}
	}
}

// emit fires the events of changes that pass the filter.
func (r *run) emit(ctx context.Context, changes []Change) error {
	events := make([]feed.Event, 0, len(changes))
	for _, c := range changes {
		if !r.filter.Match(c.Object.Key, c.Status) {
			continue
		}
		if r.resume.Quiet && (c.Status != StatusAdded || c.Object.LastModified.Before(r.resume.Since)) {
			continue
		}
		e := NewEvent(r.cfg.Bucket, c, SourcePoll)
		events = append(events, feed.Event{ID: e.EventID, Data: e})
	}
	if len(events) == 0 {
		return nil
	}
	return r.ses.Emit(ctx, events...)
}

// chunkWrite is a completed chunk of the new listing on its way to the
// store.
type chunkWrite struct {
	chunk  ChunkRef
	stored feed.ChunkRef // set, with err, before done is closed
	err    error
	done   chan struct{}
}

// keep stores a completed chunk of the new listing, unless an identical one
// is stored already: it starts the write in the background, once fewer than
// writesInFlight are under way, with ctx, and returns the error of an
// earlier write that failed. Chunks count as written (see collect) in order,
// once stored.
func (r *run) keep(ctx context.Context, c *Chunk) error {
	if c == nil || r.writeErr != nil {
		return r.collect(false)
	}
	w := &chunkWrite{chunk: c.ChunkRef, done: make(chan struct{})}
	if c.Data == nil { // the Builder leaves Data nil for known chunks only
		w.stored = r.known[c.Hash]
		w.stored.First, w.stored.Last, w.stored.Count = c.First, c.Last, int64(c.Count)
		close(w.done)
	} else {
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("store snapshot chunk %q to %q: %w", c.First, c.Last, ctx.Err())
		}
		index := r.index
		r.index++
		r.writing.Go(func() {
			defer func() { <-r.slots }()
			defer close(w.done)
			w.stored, w.err = r.ses.WriteChunk(ctx, index, c.Data, c.First, c.Last, int64(c.Count))
			if w.err != nil {
				w.err = fmt.Errorf("store snapshot chunk %q to %q: %w", c.First, c.Last, w.err)
			}
		})
	}
	r.pending = append(r.pending, w)
	return r.collect(false)
}

// collect moves the chunks stored, in order, from pending to written; with
// wait, it waits for every pending write. It returns the error of the first
// failed write, for good: the chunks after it are dropped, as the snapshot
// cannot skip one.
func (r *run) collect(wait bool) error {
	for r.writeErr == nil && len(r.pending) > 0 {
		w := r.pending[0]
		if wait {
			<-w.done
		} else {
			select {
			case <-w.done:
			default:
				return nil
			}
		}
		if w.err != nil {
			r.writeErr, r.pending = w.err, nil
			break
		}
		r.pending = r.pending[1:]
		r.known[w.chunk.Hash] = w.stored
		r.written = append(r.written, w.chunk)
		r.refs = append(r.refs, w.stored)
	}
	return r.writeErr
}

// settle waits for every write under way and collects the chunks stored.
func (r *run) settle() error {
	r.writing.Wait()
	return r.collect(true)
}

// mustStop reports whether the poll should stop before the next step: it
// read its pages, or the deadline is near. A poll always merges at least
// one step, so that every poll makes progress.
func (r *run) mustStop() bool {
	if r.steps == 0 {
		return false
	}
	if r.src.pagesPerPoll > 0 && r.pages >= r.src.pagesPerPoll {
		return true
	}
	if r.deadline.IsZero() {
		return false
	}
	return time.Until(r.deadline) < r.reserve+2*r.slowest
}

// checkpoint stores the progress of a long poll now and then, at the last
// chunk completed, once the writes under way are done: events after it were
// fired and would be fired again after a crash (duplicates, never gaps).
func (r *run) checkpoint(ctx context.Context) error {
	if r.src.checkpointEvery <= 0 || r.src.now().Sub(r.lastSave) < r.src.checkpointEvery {
		return nil
	}
	if err := r.settle(); err != nil {
		return r.salvage(ctx, err)
	}
	if len(r.written) == r.saved {
		return nil
	}
	at := r.written[len(r.written)-1].Last
	if err := r.commit(ctx, at); err != nil {
		return err
	}
	r.lastSave, r.saved = r.src.now(), len(r.written)
	return r.ses.Checkpoint(ctx)
}

// stop ends the poll before the listing's end: it cuts the pending objects
// into a last chunk, so that the snapshot holds the new listing up to the
// last key merged and the previous one after it, commits that (the events
// up to that key are fired first) and returns cause.
func (r *run) stop(ctx context.Context, cause error) error {
	if r.steps == 0 {
		return cause // nothing merged: the committed state stands
	}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
		defer cancel()
	}
	c, err := r.builder.Flush()
	if err == nil {
		err = r.keep(ctx, c)
	}
	if err == nil {
		err = r.settle()
	}
	if err != nil {
		return r.salvage(ctx, errors.Join(cause, err))
	}
	return errors.Join(cause, r.commit(ctx, r.through))
}

// salvage ends a poll whose chunk could not be stored: it waits for the
// writes under way, keeps the progress up to the last chunk stored before
// the failure (the events after it will be fired again) and returns cause.
func (r *run) salvage(ctx context.Context, cause error) error {
	if err := r.settle(); err != nil && !errors.Is(cause, err) {
		cause = errors.Join(cause, err)
	}
	if len(r.written) == 0 {
		return cause
	}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
		defer cancel()
	}
	return errors.Join(cause, r.commit(ctx, r.written[len(r.written)-1].Last))
}

// commit commits the snapshot holding the new listing up to key at and the
// previous one after it, to resume after at.
func (r *run) commit(ctx context.Context, at string) error {
	m := Manifest{Chunks: append(append([]ChunkRef{}, r.head...), r.written...)}
	refs := append(append([]feed.ChunkRef{}, r.headIDs...), r.refs...)
	objects := r.resume.Objects
	for _, c := range r.written {
		objects += int64(c.Count)
	}
	for _, c := range r.prev.Tail(at).Chunks {
		m.Chunks = append(m.Chunks, c)
		refs = append(refs, r.known[c.Hash])
	}
	res := r.resume
	res.After, res.Objects = at, objects
	return r.ses.CommitSnapshot(ctx, newCursor(m, &res), refs)
}

// finish commits the snapshot of a complete pass.
func (r *run) finish(ctx context.Context) error {
	c, err := r.builder.Flush()
	if err == nil {
		err = r.keep(ctx, c)
	}
	if err == nil {
		err = r.settle()
	}
	if err != nil {
		return r.salvage(ctx, err)
	}
	m := Manifest{Chunks: append(append([]ChunkRef{}, r.head...), r.written...)}
	refs := append(append([]feed.ChunkRef{}, r.headIDs...), r.refs...)
	r.ses.SetObjects(int64(m.Objects()))
	return r.ses.CommitSnapshot(ctx, newCursor(m, nil), refs)
}

func newCursor(m Manifest, res *resumePoint) cursor {
	c := cursor{V: cursorVersion, Chunks: make([]cursorChunk, len(m.Chunks)), Resume: res}
	for i, ref := range m.Chunks {
		c.Chunks[i] = cursorChunk{Hash: ref.Hash, After: ref.After}
	}
	return c
}
