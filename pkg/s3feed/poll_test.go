package s3feed

import (
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bucket is an in-memory bucket: key to object.
type bucket map[string]Object

func (b bucket) listing() []Object {
	out := slices.Collect(maps.Values(b))
	sortObjects(out)
	return out
}

// consumer is what a user's action learns from the events: key to ETag.
type consumer map[string]string

func (c consumer) apply(t *testing.T, ev Event) {
	assert.Equal(t, EventID(ev.Bucket, ev.Key, ev.File.ETag, ev.Status), ev.EventID)
	switch ev.Status {
	case StatusAdded, StatusModified:
		c[ev.Key] = ev.File.ETag
	case StatusDeleted:
		delete(c, ev.Key)
	}
}

// pollResult is the outcome of one simulated poll.
type pollResult struct {
	manifest Manifest
	events   []Event
	written  int    // chunks whose data was written
	splice   string // after a failure: the last key of the new chunks kept
	err      error
}

// poll runs one poll as the poller action will: merge the stored snapshot
// with the listing, fire the events of each step, store the chunks completed
// so far, and on failure keep the progress made with Manifest.Advance.
func poll(ctx context.Context, t *testing.T, old Manifest, s store, prev, next Pager) pollResult {
	b, err := NewBuilder(WithTargetBytes(1024), WithCompressionLevel(flate.BestSpeed), WithKnownChunk(func(h string) bool { _, ok := s[h]; return ok }))
	require.NoError(t, err)
	var res pollResult
	var refs []ChunkRef
	keep := func(c *Chunk) {
		if c == nil {
			return
		}
		if c.Data != nil {
			res.written++
		}
		s.put(c)
		refs = append(refs, c.ChunkRef)
	}
	d := NewDiffer(prev, next)
	for {
		step, err := d.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.err = err
			res.manifest = old.Advance(refs)
			if len(refs) > 0 {
				res.splice = refs[len(refs)-1].Last
			}
			return res
		}
		// Fire first, then let the snapshot advance over the same range.
		for _, c := range step.Changes {
			res.events = append(res.events, NewEvent("b", c, SourcePoll))
		}
		for _, o := range step.Listed {
			c, err := b.Add(o)
			require.NoError(t, err)
			keep(c)
		}
	}
	c, err := b.Flush()
	require.NoError(t, err)
	keep(c)
	res.manifest = Manifest{Chunks: refs}
	return res
}

// TestPollSimulation drives random puts, overwrites and deletes between polls
// of an in-memory bucket, with listings and chunk reads that sometimes fail
// part-way. It checks that the events, applied in order, bring a consumer to
// exactly the bucket's state (no change lost, duplicates only after a failed
// poll), that the stored snapshot decodes to the listing, and that an
// unchanged bucket writes no chunk.
func TestPollSimulation(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 99))
			bkt := bucket{}
			for _, o := range append(randomListing(r, 150), realisticListing(r, 150)...) {
				bkt[o.Key] = o
			}
			s := store{}
			// CREATE records the baseline; existing objects are not announced.
			base := poll(t.Context(), t, Manifest{}, s, SlicePager(nil, 0), SlicePager(bkt.listing(), 0))
			require.NoError(t, base.err)
			m := base.manifest
			seen := consumer{}
			for _, o := range bkt {
				seen[o.Key] = o.ETag
			}

			failed := false
			for round := range 25 {
				before := bkt.listing()
				changedBucket := round%5 != 0
				if changedBucket {
					mutateBucket(r, bkt)
				}
				listing := bkt.listing()
				snapshot := readAll(t, m, s)

				prev, next := m.Pager(s.fetch), SlicePager(listing, 1+r.IntN(50))
				failAt := -1
				boom := errors.New("injected failure")
				switch r.IntN(6) {
				case 0:
					failAt = r.IntN(len(listing) + 1)
					next = failingPager(listing, 1+r.IntN(50), failAt, boom)
				case 1:
					failAt = r.IntN(len(m.Chunks) + 1)
					prev = failingChunks(m, s, failAt, boom)
				}
				res := poll(t.Context(), t, m, s, prev, next)

				keys := map[string]bool{}
				for _, ev := range res.events {
					assert.False(t, keys[ev.Key], "key %q reported twice in one poll", ev.Key)
					keys[ev.Key] = true
					seen.apply(t, ev)
				}
				m = res.manifest
				if res.err != nil {
					require.ErrorIs(t, res.err, boom)
					failed = true
					// The kept snapshot is the new listing up to the splice
					// point and the previous snapshot after it.
					k := res.splice
					want := append(upTo(listing, k), after(snapshot, k)...)
					assert.Equal(t, want, readAll(t, m, s))
					continue
				}
				assert.Equal(t, listing, readAll(t, m, s), "round %d", round)
				assert.Equal(t, projection(listing), projection(consumerListing(seen)), "round %d", round)
				if !changedBucket && !failed && slices.Equal(projection(before), projection(listing)) {
					assert.Zero(t, res.written, "an unchanged bucket must write no chunk")
					assert.Empty(t, res.events)
				}
				failed = false
			}
		})
	}
}

// mutateBucket puts, overwrites and deletes a few objects.
func mutateBucket(r *rand.Rand, b bucket) {
	keys := slices.Sorted(maps.Keys(b))
	for range 1 + r.IntN(8) {
		switch r.IntN(4) {
		case 0: // put a new key
			k := randomKey(r)
			if r.IntN(2) == 0 && len(keys) > 0 {
				k = keys[r.IntN(len(keys))] + "/" + k
			}
			b[k] = tortureObject(r, k)
		case 1: // overwrite with new content
			if len(keys) > 0 {
				k := keys[r.IntN(len(keys))]
				o := tortureObject(r, k)
				if o.ETag == b[k].ETag {
					o.ETag += "2"
				}
				b[k] = o
			}
		case 2: // overwrite with the same content: no event
			if len(keys) > 0 {
				k := keys[r.IntN(len(keys))]
				o := b[k]
				if o.ETag != "" {
					o.LastModified = o.LastModified.Add(1e9)
					b[k] = o
				}
			}
		case 3: // delete
			if len(keys) > 0 {
				delete(b, keys[r.IntN(len(keys))])
			}
		}
	}
}

// failingChunks is the Pager of m whose chunk reads fail from index failAt.
func failingChunks(m Manifest, s store, failAt int, err error) Pager {
	n := 0
	return m.Pager(func(ctx context.Context, ref ChunkRef) ([]byte, error) {
		if n >= failAt {
			return nil, err
		}
		n++
		return s.fetch(ctx, ref)
	})
}

func after(objs []Object, k string) []Object {
	var out []Object
	for _, o := range objs {
		if o.Key > k {
			out = append(out, o)
		}
	}
	return out
}

func consumerListing(c consumer) []Object {
	var out []Object
	for k, e := range c {
		out = append(out, Object{Key: k, ETag: e})
	}
	sortObjects(out)
	return out
}

// TestPollResumesInsideOldChunk makes a poll fail just after a new chunk
// boundary that the old snapshot does not have, so the kept manifest must hide
// part of an old chunk, and checks the next poll completes the work.
func TestPollResumesInsideOldChunk(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	old := realisticListing(r, 3000)
	s := store{}
	base := poll(t.Context(), t, Manifest{}, s, SlicePager(nil, 0), SlicePager(old, 0))
	require.NoError(t, base.err)
	require.Greater(t, len(base.manifest.Chunks), 20)

	// A new key that ends a chunk, placed in the middle of an old chunk.
	b, err := NewBuilder(WithTargetBytes(1024))
	require.NoError(t, err)
	mid := base.manifest.Chunks[len(base.manifest.Chunks)/2]
	var added Object
	for i := 0; ; i++ {
		added = obj(fmt.Sprintf("%s~%d", mid.First, i), randomETag(r))
		if added.Key < mid.Last && b.boundary(added.Key) {
			break
		}
	}
	next := append(slices.Clone(old), added)
	sortObjects(next)
	at := slices.IndexFunc(next, func(o Object) bool { return o.Key == added.Key })

	boom := errors.New("listing interrupted")
	failed := poll(t.Context(), t, base.manifest, s, base.manifest.Pager(s.fetch), failingPager(next, 7, at+1, boom))
	require.ErrorIs(t, failed.err, boom)
	assert.Equal(t, added.Key, failed.splice)
	hidden := slices.IndexFunc(failed.manifest.Chunks, func(c ChunkRef) bool { return c.After != "" })
	require.GreaterOrEqual(t, hidden, 0, "the old chunk holding the new key must be partly hidden")
	assert.Equal(t, mid.Hash, failed.manifest.Chunks[hidden].Hash)
	assert.Equal(t, added.Key, failed.manifest.Chunks[hidden].After)
	assert.Equal(t, next, readAll(t, failed.manifest, s))
	require.Len(t, failed.events, 1)
	assert.Equal(t, StatusAdded, failed.events[0].Status)

	// The next poll finds nothing new and leaves a clean manifest.
	done := poll(t.Context(), t, failed.manifest, s, failed.manifest.Pager(s.fetch), SlicePager(next, 1000))
	require.NoError(t, done.err)
	assert.Empty(t, done.events)
	assert.Equal(t, next, readAll(t, done.manifest, s))
	for _, c := range done.manifest.Chunks {
		assert.Empty(t, c.After)
	}
}
