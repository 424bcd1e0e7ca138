package s3feed_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
)

// smallChunks makes snapshots of a few dozen objects span several chunks.
var smallChunks = s3feed.WithChunkOptions(s3feed.WithTargetBytes(1024))

// change is what a test expects an event to say.
type change struct {
	Status s3feed.Status
	Key    string
	ETag   string
}

func changesOf(t testing.TB, bucket string, events []s3feed.Event) []change {
	t.Helper()
	out := make([]change, 0, len(events))
	for _, e := range events {
		assert.Equal(t, bucket, e.Bucket)
		assert.Equal(t, e.Key, e.File.Key)
		assert.Equal(t, s3feed.SourcePoll, e.Source)
		assert.Equal(t, s3feed.EventID(bucket, e.Key, e.File.ETag, e.Status), e.EventID, "event_id is the stable hash")
		out = append(out, change{e.Status, e.Key, e.File.ETag})
	}
	return out
}

func TestBaselineOrAnnounce(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes()
	bucket := f.newBucket(t, "existing")
	etagA := put(t, f.client, bucket, "a.txt", "alpha")
	etagB := put(t, f.client, bucket, "b/c.txt", "beta")

	quiet := h.create(src, "quiet", f.params(bucket))
	assert.EqualValues(t, 2, h.record(quiet).Stats.Objects, "CREATE listed the bucket")
	loud := h.create(src, "loud", f.params(bucket, "initial", "announce"))

	res := h.poll(src, quiet)
	assert.Zero(t, res.Events, "objects present at CREATE are not announced")
	assert.Empty(t, h.events())

	res = h.poll(src, loud)
	assert.EqualValues(t, 2, res.Events)
	assert.EqualValues(t, 2, res.Objects)
	assert.Equal(t, []change{{s3feed.StatusAdded, "a.txt", etagA}, {s3feed.StatusAdded, "b/c.txt", etagB}}, changesOf(t, bucket, h.events()))

	for _, id := range []string{quiet, loud} {
		assert.Zero(t, h.poll(src, id).Events, "nothing changed, nothing fired")
	}
	assert.Empty(t, h.events())
}

func TestChangesBetweenPolls(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes()
	bucket := f.newBucket(t, "changes")
	put(t, f.client, bucket, "keep", "same")
	put(t, f.client, bucket, "overwrite", "v1")
	goneETag := put(t, f.client, bucket, "remove", "doomed")
	id := h.create(src, "t", f.params(bucket))

	added := put(t, f.client, bucket, "new/file.csv", "fresh")
	modified := put(t, f.client, bucket, "overwrite", "v2")
	del(t, f.client, bucket, "remove")
	put(t, f.client, bucket, "keep", "same") // rewritten, same content: same ETag

	res := h.poll(src, id)
	assert.EqualValues(t, 3, res.Events)
	events := h.events()
	assert.Equal(t, []change{
		{s3feed.StatusAdded, "new/file.csv", added},
		{s3feed.StatusModified, "overwrite", modified},
		{s3feed.StatusDeleted, "remove", goneETag},
	}, changesOf(t, bucket, events))
	assert.EqualValues(t, 5, events[0].File.Size)
	assert.False(t, events[0].File.LastModified.IsZero())
	assert.EqualValues(t, 3, res.Objects)

	assert.Zero(t, h.poll(src, id).Events)
	rec := h.record(id)
	assert.EqualValues(t, 3, rec.Stats.EventsFired)
	assert.EqualValues(t, 2, rec.Stats.Polls)
}

func TestFilters(t *testing.T) {
	tests := []struct {
		name   string
		params []any
		want   []string // "status key"
	}{
		{"everything", nil, []string{"added logs/new.json", "added new.csv", "deleted old.csv", "modified reports/q3.csv"}},
		{"prefix", []any{"prefix", "reports/"}, []string{"modified reports/q3.csv"}},
		{"suffix", []any{"suffix", ".csv"}, []string{"added new.csv", "deleted old.csv", "modified reports/q3.csv"}},
		{"events", []any{"events", "added,deleted"}, []string{"added logs/new.json", "added new.csv", "deleted old.csv"}},
		{"events list", []any{"events", []any{"deleted"}}, []string{"deleted old.csv"}},
		{"all filters", []any{"suffix", ".csv", "events", "added"}, []string{"added new.csv"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeS3(t)
			h := newHarness(t)
			src := s3feed.Changes()
			bucket := f.newBucket(t, "filtered")
			put(t, f.client, bucket, "reports/q3.csv", "v1")
			put(t, f.client, bucket, "old.csv", "x")
			id := h.create(src, "t", f.params(bucket, tc.params...))

			put(t, f.client, bucket, "reports/q3.csv", "v2")
			put(t, f.client, bucket, "new.csv", "y")
			put(t, f.client, bucket, "logs/new.json", "{}")
			del(t, f.client, bucket, "old.csv")
			h.poll(src, id)
			var got []string
			for _, e := range h.events() {
				got = append(got, string(e.Status)+" "+e.Key)
			}
			slices.Sort(got)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestBatchPayload(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes()
	bucket := f.newBucket(t, "batched")
	id := h.create(src, "t", f.params(bucket, "batch_size", 3))
	for i := range 7 {
		put(t, f.client, bucket, fmt.Sprintf("k%d", i), "v")
	}
	h.poll(src, id)
	payloads := h.takePayloads()
	require.Len(t, payloads, 3, "7 events in batches of 3")
	var sizes []int
	for _, raw := range payloads {
		var shape map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(raw, &shape))
		assert.ElementsMatch(t, []string{"bucket", "events"}, slices.Collect(maps.Keys(shape)))
		var b s3feed.Batch
		require.NoError(t, json.Unmarshal(raw, &b))
		assert.Equal(t, bucket, b.Bucket)
		for _, e := range b.Events {
			assert.Equal(t, s3feed.StatusAdded, e.Status)
			assert.Equal(t, s3feed.EventID(bucket, e.Key, e.File.ETag, e.Status), e.EventID)
		}
		sizes = append(sizes, len(b.Events))
	}
	assert.Equal(t, []int{3, 3, 1}, sizes)
}

// consumerState applies events to what a consumer knows, key → ETag.
func consumerState(t testing.TB, known map[string]string, events []s3feed.Event) {
	t.Helper()
	for _, e := range events {
		switch e.Status {
		case s3feed.StatusAdded:
			_, ok := known[e.Key]
			assert.False(t, ok, "added %q twice", e.Key)
			known[e.Key] = e.File.ETag
		case s3feed.StatusModified:
			old, ok := known[e.Key]
			assert.True(t, ok, "modified %q unknown", e.Key)
			assert.NotEqual(t, old, e.File.ETag, "modified %q without a new ETag", e.Key)
			known[e.Key] = e.File.ETag
		case s3feed.StatusDeleted:
			assert.Equal(t, known[e.Key], e.File.ETag, "deleted %q as last seen", e.Key)
			delete(known, e.Key)
		}
	}
}

// mutate puts, overwrites and deletes random keys of bucket.
func mutate(t testing.TB, r *rand.Rand, f *fakeS3, bucket string, keys []string) {
	t.Helper()
	present := listAll(t, f.client, bucket)
	for range 1 + r.IntN(12) {
		k := keys[r.IntN(len(keys))]
		switch _, ok := present[k]; {
		case ok && r.IntN(2) == 0:
			del(t, f.client, bucket, k)
			delete(present, k)
		default:
			present[k] = put(t, f.client, bucket, k, fmt.Sprintf("v%d", r.Uint32()))
		}
	}
}

// TestRandomChanges checks that the events of each poll turn the previous
// listing into the next one exactly, over random puts, overwrites and
// deletes, with snapshots of many chunks and listings of many pages.
func TestRandomChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes(smallChunks, s3feed.WithPageSize(7))
	bucket := f.newBucket(t, "random")
	keys := make([]string, 120)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s/%03d-%s", []string{"a", "b b", "c+d", "é", "z"}[i%5], i, strings.Repeat("x", r.IntN(40)))
	}
	for _, k := range keys[:60] {
		put(t, f.client, bucket, k, "initial "+k)
	}
	id := h.create(src, "t", f.params(bucket))
	known := listAll(t, f.client, bucket)
	for round := range 15 {
		mutate(t, r, f, bucket, keys)
		res := h.poll(src, id)
		events := h.events()
		consumerState(t, known, events)
		changesOf(t, bucket, events)
		want := listAll(t, f.client, bucket)
		require.Equal(t, want, known, "round %d: the events turn the last listing into this one", round)
		assert.EqualValues(t, len(want), res.Objects)
	}
}

// TestFireFailureGivesDuplicatesNotGaps fails fires part-way through a poll:
// the poll keeps what was fired before the failing step, and the next poll
// fires the rest again, with the same event ids; nothing is missed.
func TestFireFailureGivesDuplicatesNotGaps(t *testing.T) {
	tests := []struct {
		name   string
		failAt int
	}{{"first fire", 1}, {"mid-listing", 9}, {"last fire", 24}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeS3(t)
			h := newHarness(t)
			src := s3feed.Changes(smallChunks, s3feed.WithPageSize(4))
			bucket := f.newBucket(t, "crash")
			for i := range 30 {
				put(t, f.client, bucket, fmt.Sprintf("k%02d", i), "v1")
			}
			id := h.create(src, "t", f.params(bucket))
			want := map[string]string{} // event id → "status key"
			for i := range 30 {
				switch {
				case i%3 == 0:
					del(t, f.client, bucket, fmt.Sprintf("k%02d", i))
				case i%3 == 1:
					put(t, f.client, bucket, fmt.Sprintf("k%02d", i), "v2")
				}
				put(t, f.client, bucket, fmt.Sprintf("n%02d", i%5), "new")
			}
			h.failFires(tc.failAt-1, 0) // the failAt-th fire fails, and every later one
			res, err := h.local.Poll(t.Context(), src, id)
			require.NoError(t, err)
			require.Contains(t, res.Error, errInjected.Error(), "the poll reports the failed fire")
			first := h.events()
			assert.Len(t, first, tc.failAt-1)

			h.healFires()
			h.poll(src, id)
			second := h.events()
			got := map[string]int{}
			for _, e := range append(first, second...) {
				got[e.EventID]++
				want[e.EventID] = string(e.Status) + " " + e.Key
			}
			assert.Len(t, want, 25, "10 deleted, 10 modified, 5 added: every change fired")
			for eid, n := range got {
				assert.LessOrEqual(t, n, 2, "event %s fired at most once more", want[eid])
			}
			assert.Zero(t, h.poll(src, id).Events, "then nothing is pending")
		})
	}
}

// TestFireFailureKeepsProgress recovers within the failing poll: the fires
// fail for a while, then work again; what was merged before the failing
// step is kept, so the next poll fires only that step again and the rest.
func TestFireFailureKeepsProgress(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes(smallChunks, s3feed.WithPageSize(4))
	bucket := f.newBucket(t, "progress")
	id := h.create(src, "t", f.params(bucket))
	for i := range 20 {
		put(t, f.client, bucket, fmt.Sprintf("k%02d", i), "v")
	}
	// The 11th fire fails three times: Emit gives up in the third page
	// (keys k08 to k11), and the fire succeeds when the progress is
	// committed.
	h.failFires(10, 3)
	res, err := h.local.Poll(t.Context(), src, id)
	require.NoError(t, err)
	require.Contains(t, res.Error, errInjected.Error())
	first := changesOf(t, bucket, h.events())
	require.Len(t, first, 11)
	h.poll(src, id)
	second := changesOf(t, bucket, h.events())
	fired := map[string]int{}
	for _, c := range append(first, second...) {
		fired[c.Key]++
	}
	assert.Len(t, fired, 20, "every object announced")
	for k, n := range fired {
		if k < "k08" || k > "k11" {
			assert.Equal(t, 1, n, "%s: only the failing step is fired again", k)
		}
	}
	assert.Equal(t, "k08", second[0].Key, "the next poll resumes at the failing step")
}

// TestListingFailsPartWay fails the third listing page: the changes of the
// pages merged are fired, none after the failure point (no false
// deletions), and the next poll reports the rest from the old snapshot.
func TestListingFailsPartWay(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes(smallChunks, s3feed.WithPageSize(5), s3feed.WithRetry(1, 0))
	bucket := f.newBucket(t, "partial")
	for i := range 30 {
		put(t, f.client, bucket, fmt.Sprintf("k%02d", i), "v1")
	}
	id := h.create(src, "t", f.params(bucket))
	modified := put(t, f.client, bucket, "k02", "v2") // page 1
	put(t, f.client, bucket, "k07", "v2")             // page 2
	for i := 12; i < 30; i++ {                        // pages 3 to 6
		del(t, f.client, bucket, fmt.Sprintf("k%02d", i))
	}

	f.failAfter(2, http.StatusInternalServerError)
	res, err := h.local.Poll(t.Context(), src, id)
	require.NoError(t, err)
	require.NotEmpty(t, res.Error)
	assert.Contains(t, res.Error, bucket, "the error names the bucket")
	got := changesOf(t, bucket, h.events())
	assert.Equal(t, []change{{s3feed.StatusModified, "k02", modified}, {s3feed.StatusModified, "k07", got[len(got)-1].ETag}}, got,
		"the changes of pages 1 and 2 only: nothing after the failure point")
	rec := h.record(id)
	assert.EqualValues(t, 1, rec.Stats.Errors)
	assert.True(t, rec.Status.Active, "a failing page is not permanent")

	f.failAfter(0, 0)
	h.poll(src, id)
	var deleted []string
	for _, c := range changesOf(t, bucket, h.events()) {
		assert.Equal(t, s3feed.StatusDeleted, c.Status)
		deleted = append(deleted, c.Key)
	}
	assert.Len(t, deleted, 18, "the old snapshot was kept for the unlisted range")
	assert.Equal(t, "k12", deleted[0])
	assert.EqualValues(t, 12, h.record(id).Stats.Objects)
	assert.Zero(t, h.poll(src, id).Events)
}

// TestUnchangedBucketWritesNoChunk counts the documents a poll writes.
func TestUnchangedBucketWritesNoChunk(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes(smallChunks, s3feed.WithPageSize(25))
	bucket := f.newBucket(t, "steady")
	for i := range 120 {
		f.putDirect(t, bucket, fmt.Sprintf("logs/2026/11/25/host-%02d/part-%04d.json.gz", i%4, i), fmt.Sprintf("body %d", i))
	}
	id := h.create(src, "t", f.params(bucket))
	chunks := h.chunkDocs()
	require.Greater(t, len(chunks), 3, "the snapshot spans several chunks")

	for range 2 {
		seq := h.updateSeq()
		h.poll(src, id)
		assert.Equal(t, 2, h.updateSeq()-seq, "two writes: the lease and the final record update")
		assert.Equal(t, []string{id}, h.changedSince(seq), "only the record was written")
		assert.Equal(t, chunks, h.chunkDocs(), "no chunk written or deleted")
	}

	put(t, f.client, bucket, "logs/2026/11/25/host-01/part-0061.json.gz", "changed")
	h.poll(src, id)
	after := h.chunkDocs()
	var added []string
	for _, c := range after {
		if !slices.Contains(chunks, c) {
			added = append(added, c)
		}
	}
	assert.Len(t, added, 1, "one changed object rewrites one chunk")
	assert.Len(t, after, len(chunks), "the replaced chunk was collected")
}

func TestNoSuchBucketDisablesAfterThreePolls(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes()
	bucket := f.newBucket(t, "vanishing")
	id := h.create(src, "t", f.params(bucket))
	_, err := f.client.DeleteBucket(t.Context(), &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)

	for i := 1; i <= 3; i++ {
		res, err := h.local.Poll(t.Context(), src, id)
		require.NoError(t, err)
		assert.Contains(t, res.Error, `bucket "vanishing" does not exist`)
		assert.Equal(t, i < 3, h.record(id).Status.Active, "poll %d", i)
	}
	rec := h.record(id)
	require.NotNil(t, rec.Status.Reason)
	assert.Equal(t, feed.ReasonAuto, rec.Status.Reason.Kind)
	assert.Contains(t, rec.Status.Reason.Message, "vanishing")
	assert.Equal(t, 3, rec.Stats.ConsecutiveFailures)
	res, err := h.local.Poll(t.Context(), src, id)
	require.NoError(t, err)
	assert.Equal(t, "inactive", res.Skipped)
}

// TestLargeBucketResumes bounds the pages of each poll: a pass over the
// bucket takes several polls, each continuing where the last stopped, and
// every change is fired exactly once.
func TestLargeBucketResumes(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes(smallChunks, s3feed.WithPageSize(10), s3feed.WithPagesPerPoll(3))
	bucket := f.newBucket(t, "large")
	f.clock.set(-time.Hour) // written well before CREATE
	for i := range 200 {
		f.putDirect(t, bucket, fmt.Sprintf("k%04d", i), "v1")
	}
	f.clock.set(0)
	id := h.create(src, "t", f.params(bucket))
	assert.Zero(t, h.record(id).Stats.Objects, "CREATE stopped after 3 pages: the pass is unfinished")

	// The baseline goes on quietly, but an object written after CREATE
	// began, in the part not yet listed, is announced.
	late := put(t, f.client, bucket, "k0150-late", "new")
	polls := pollUntilObjects(t, h, src, id, 201)
	assert.Greater(t, polls, 3)
	assert.Equal(t, []change{{s3feed.StatusAdded, "k0150-late", late}}, changesOf(t, bucket, h.events()))

	known := listAll(t, f.client, bucket)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		k := fmt.Sprintf("k%04d", i)
		switch r.IntN(6) {
		case 0:
			del(t, f.client, bucket, k)
		case 1:
			put(t, f.client, bucket, k, "v2")
		}
	}
	want := listAll(t, f.client, bucket)
	pollUntilObjects(t, h, src, id, len(want))
	consumerState(t, known, h.events())
	assert.Equal(t, want, known)
}

// pollUntilObjects polls until a pass ends with n objects and returns the
// number of polls.
func pollUntilObjects(t *testing.T, h *harness, src feed.Poller, id string, n int) int {
	t.Helper()
	for polls := 1; polls <= 100; polls++ {
		res := h.poll(src, id)
		if res.Objects == int64(n) && h.record(id).Stats.Objects == int64(n) && !resuming(t, h.record(id)) {
			return polls
		}
	}
	t.Fatalf("the pass did not end after 100 polls")
	return 0
}

// resuming reports whether the record's cursor holds an unfinished pass.
func resuming(t *testing.T, rec *feed.Record) bool {
	var c struct {
		Resume json.RawMessage `json:"resume"`
	}
	require.NoError(t, json.Unmarshal(rec.Cursor, &c))
	return len(c.Resume) > 0
}

// TestDeadlineStopsAndResumes gives each poll a short deadline over a
// bucket that takes longer than that to list: the polls stop before their
// deadline and resume, and every object is announced exactly once.
func TestDeadlineStopsAndResumes(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes(s3feed.WithPageSize(50), s3feed.WithChunkOptions(s3feed.WithTargetBytes(4096)))
	bucket := f.newBucket(t, "deadline")
	const n = 6000
	for i := range n {
		f.putDirect(t, bucket, fmt.Sprintf("data/%05d", i), "v")
	}
	id := h.create(src, "t", f.params(bucket, "initial", "announce", "batch_size", 100))
	// 120 pages of 40 ms: at least 4.8 s of listing, and a poll given a
	// 6 s deadline keeps at most 4 s of it (see feed's pollTimeout), with
	// room left for slow chunk writes on a loaded machine.
	f.mu.Lock()
	f.listDelay = 40 * time.Millisecond
	f.mu.Unlock()
	seen := map[string]int{}
	polls := 0
	for ; polls < 100 && h.record(id).Stats.Objects != n; polls++ {
		res, err := h.local.Poll(withDeadline(t, 6*time.Second), src, id)
		require.NoError(t, err)
		assert.Empty(t, res.Error)
		for _, e := range h.events() {
			seen[e.Key]++
		}
	}
	assert.Greater(t, polls, 1, "the pass took several polls")
	assert.Len(t, seen, n)
	for k, c := range seen {
		if c != 1 {
			t.Errorf("%s announced %d times", k, c)
		}
	}
}

// TestLostStateRecordsQuietBaseline drops the cursor and snapshot, as an
// UPDATE of bucket or prefix does before its new baseline: a poll without
// state records a baseline without announcing the bucket.
func TestLostStateRecordsQuietBaseline(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes()
	bucket := f.newBucket(t, "reset")
	f.clock.set(-time.Hour)
	put(t, f.client, bucket, "a", "1")
	put(t, f.client, bucket, "b", "1")
	f.clock.set(0)
	id := h.create(src, "t", f.params(bucket))
	_, err := h.local.Store.Update(t.Context(), id, func(r *feed.Record) error {
		r.Cursor, r.Snapshot = nil, feed.Snapshot{Generation: r.Snapshot.Generation}
		return nil
	})
	require.NoError(t, err)
	assert.Zero(t, h.poll(src, id).Events, "existing objects are not announced")
	etag := put(t, f.client, bucket, "c", "1")
	h.poll(src, id)
	assert.Equal(t, []change{{s3feed.StatusAdded, "c", etag}}, changesOf(t, bucket, h.events()))
}

// TestCheckpointsKeepProgress stores progress after every chunk of a long
// poll; when the fires then fail for good, the next poll starts from the
// last checkpoint rather than from the beginning.
func TestCheckpointsKeepProgress(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes(smallChunks, s3feed.WithPageSize(10), s3feed.WithCheckpointEvery(time.Nanosecond))
	bucket := f.newBucket(t, "checkpoints")
	id := h.create(src, "t", f.params(bucket))
	for i := range 100 {
		f.putDirect(t, bucket, fmt.Sprintf("logs/2026/11/25/part-%04d.json.gz", i), "v")
	}
	h.failFires(60, 0)
	seq := h.updateSeq()
	res, err := h.local.Poll(t.Context(), src, id)
	require.NoError(t, err)
	require.NotEmpty(t, res.Error)
	assert.Greater(t, h.updateSeq()-seq, 4, "checkpoints wrote the record during the poll")
	first := h.events()
	require.Len(t, first, 60)

	h.healFires()
	h.poll(src, id)
	second := h.events()
	fired := map[string]int{}
	for _, e := range append(first, second...) {
		fired[e.Key]++
	}
	assert.Len(t, fired, 100, "every object announced")
	assert.Less(t, len(second), 100-20, "the next poll resumed after a checkpoint")
	assert.Zero(t, h.poll(src, id).Events)
}

// TestBaselineCheckpointsUnderLease records a baseline long enough to
// checkpoint: CREATE holds the poll lease, so its checkpoints are accepted
// and the lease is released at the end.
func TestBaselineCheckpointsUnderLease(t *testing.T) {
	f := newFakeS3(t)
	h := newHarness(t)
	src := s3feed.Changes(s3feed.WithPageSize(50), s3feed.WithCheckpointEvery(time.Nanosecond),
		s3feed.WithChunkOptions(s3feed.WithTargetBytes(4096)))
	bucket := f.newBucket(t, "baseline-checkpoints")
	for i := range 2000 {
		f.putDirect(t, bucket, fmt.Sprintf("k/%05d", i), "v")
	}
	id := h.create(src, "t", f.params(bucket))
	rec := h.record(id)
	assert.False(t, rec.Lease.Held(time.Now()), "CREATE released the lease")
	assert.EqualValues(t, 2000, rec.Stats.Objects)
	assert.Greater(t, len(rec.Snapshot.Chunks), 2, "the baseline wrote several chunks, checkpointing between them")
	res := h.poll(src, id)
	assert.Zero(t, res.Events, "the baseline is complete: nothing is announced")
	assert.Empty(t, res.Error)
}
