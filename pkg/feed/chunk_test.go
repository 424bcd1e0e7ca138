package feed_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
)

func TestChunkID(t *testing.T) {
	id, err := feed.ChunkID(feed.RecordID("guest", "uploads"), 3, 7)
	require.NoError(t, err)
	assert.Equal(t, "snap:guest/uploads:3:7", id)
	_, err = feed.ChunkID("bucket:x", 1, 0)
	require.Error(t, err)
}

func TestChunkRoundTrip5MB(t *testing.T) {
	t.Parallel()
	s, dbURL := newStore(t)
	ctx := t.Context()
	data := make([]byte, 5<<20)
	_, _ = rand.Read(data)

	ref, err := s.PutChunk(ctx, feed.RecordID("guest", "big"), 1, 0, data)
	require.NoError(t, err)
	assert.Equal(t, "snap:guest/big:1:0", ref.ID)
	assert.EqualValues(t, len(data), ref.Bytes)
	assert.Equal(t, feed.ChunkHash(data), ref.Hash)

	got, err := s.GetChunk(ctx, ref)
	require.NoError(t, err)
	assert.True(t, string(data) == string(got), "5 MB chunk round-trips byte for byte")

	// Stored as a raw attachment, not as base64 inside the JSON document.
	status, raw := rawGet(t, dbURL, ref.ID)
	require.Equal(t, http.StatusOK, status)
	assert.Less(t, len(raw), 1024)
	var doc struct {
		Attachments map[string]struct {
			ContentType string `json:"content_type"`
			Length      int64  `json:"length"`
			Stub        bool   `json:"stub"`
		} `json:"_attachments"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Contains(t, doc.Attachments, "data")
	assert.Equal(t, "application/octet-stream", doc.Attachments["data"].ContentType)
	assert.EqualValues(t, len(data), doc.Attachments["data"].Length)
	assert.True(t, doc.Attachments["data"].Stub)
}

func TestGetChunkErrors(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	ref, err := s.PutChunk(ctx, feed.RecordID("guest", "t"), 1, 0, []byte("abc"))
	require.NoError(t, err)

	_, err = s.GetChunk(ctx, feed.ChunkRef{ID: "snap:guest/t:9:9"})
	require.ErrorIs(t, err, feed.ErrNotFound)

	bad := ref
	bad.Hash = feed.ChunkHash([]byte("abd"))
	_, err = s.GetChunk(ctx, bad)
	require.ErrorIs(t, err, feed.ErrChunkCorrupt)

	bad = ref
	bad.Bytes = 4
	_, err = s.GetChunk(ctx, bad)
	require.ErrorIs(t, err, feed.ErrChunkCorrupt)
}

// snapshotWriter plays the poller's part: it writes a new generation of
// chunks, reusing refs whose bytes did not change, and switches the record
// to it in one update.
type snapshotWriter struct {
	t  *testing.T
	s  *feed.Store
	id string
}

// write stores chunks as generation committed+1 and returns the refs of the
// new snapshot without committing it.
func (w snapshotWriter) write(ctx context.Context, chunks []string) feed.Snapshot {
	w.t.Helper()
	rec, err := w.s.Get(ctx, w.id)
	require.NoError(w.t, err)
	prev := map[string]feed.ChunkRef{}
	for _, c := range rec.Snapshot.Chunks {
		prev[c.First] = c
	}
	next := feed.Snapshot{Generation: rec.Snapshot.Generation + 1}
	for i, c := range chunks {
		first := c[:1]
		if old, ok := prev[first]; ok && old.Hash == feed.ChunkHash([]byte(c)) {
			next.Chunks = append(next.Chunks, old) // unchanged: reuse by reference
			continue
		}
		ref, err := w.s.PutChunk(ctx, w.id, next.Generation, i, []byte(c))
		require.NoError(w.t, err)
		ref.First, ref.Last, ref.Count = first, c[len(c)-1:], int64(len(c))
		next.Chunks = append(next.Chunks, ref)
	}
	return next
}

func (w snapshotWriter) commit(ctx context.Context, snap feed.Snapshot) {
	w.t.Helper()
	_, err := w.s.Update(ctx, w.id, func(r *feed.Record) error {
		r.Snapshot = snap
		return nil
	})
	require.NoError(w.t, err)
	_, err = w.s.CollectChunks(ctx, w.id)
	require.NoError(w.t, err)
}

// read returns the committed snapshot's chunks as strings.
func (w snapshotWriter) read(ctx context.Context) []string {
	w.t.Helper()
	rec, err := w.s.Get(ctx, w.id)
	require.NoError(w.t, err)
	out := []string{}
	for _, ref := range rec.Snapshot.Chunks {
		b, err := w.s.GetChunk(ctx, ref)
		require.NoError(w.t, err)
		out = append(out, string(b))
	}
	return out
}

func TestSnapshotGenerationsReuseAndCollect(t *testing.T) {
	t.Parallel()
	s, dbURL := newStore(t)
	ctx := t.Context()
	r := createRecord(t, s, "guest", "t")
	w := snapshotWriter{t: t, s: s, id: r.ID}
	prefix := "snap:guest/t:"

	w.commit(ctx, w.write(ctx, []string{"abc", "def", "ghi"}))
	assert.Equal(t, []string{"abc", "def", "ghi"}, w.read(ctx))
	assert.Equal(t, []string{prefix + "1:0", prefix + "1:1", prefix + "1:2"}, docIDs(t, dbURL, prefix))

	// Generation 2: "def" changed, a chunk is added; the others are reused.
	w.commit(ctx, w.write(ctx, []string{"abc", "dxf", "ghi", "jkl"}))
	assert.Equal(t, []string{"abc", "dxf", "ghi", "jkl"}, w.read(ctx))
	rec, err := s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.EqualValues(t, 2, rec.Snapshot.Generation)
	assert.Equal(t, []string{prefix + "1:0", prefix + "2:1", prefix + "1:2", prefix + "2:3"}, refIDs(rec.Snapshot))
	assert.Equal(t, []string{prefix + "1:0", prefix + "1:2", prefix + "2:1", prefix + "2:3"}, docIDs(t, dbURL, prefix),
		"the replaced chunk 1:1 was collected, reused chunks were kept")

	// Generation 3 drops chunks; everything unreferenced goes.
	w.commit(ctx, w.write(ctx, []string{"abc"}))
	assert.Equal(t, []string{"abc"}, w.read(ctx))
	assert.Equal(t, []string{prefix + "1:0"}, docIDs(t, dbURL, prefix))

	// Deleting the record deletes its chunks, and only its chunks.
	other := createRecord(t, s, "guest", "t2")
	_, err = s.PutChunk(ctx, other.ID, 1, 0, []byte("zzz"))
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, r.ID))
	assert.Empty(t, docIDs(t, dbURL, prefix))
	assert.Equal(t, []string{"snap:guest/t2:1:0"}, docIDs(t, dbURL, "snap:guest/t2:"))
}

func TestSnapshotCrashBeforeSwitch(t *testing.T) {
	t.Parallel()
	s, dbURL := newStore(t)
	ctx := t.Context()
	r := createRecord(t, s, "guest", "t")
	w := snapshotWriter{t: t, s: s, id: r.ID}
	prefix := "snap:guest/t:"

	w.commit(ctx, w.write(ctx, []string{"abc", "def"}))

	// A poll writes generation 2 and dies before switching.
	_ = w.write(ctx, []string{"axc", "dxf", "gxi"})
	assert.Equal(t, []string{"abc", "def"}, w.read(ctx), "the old generation is intact")
	n, err := s.CollectChunks(ctx, r.ID)
	require.NoError(t, err)
	assert.Zero(t, n, "chunks above the committed generation may belong to a running poll")

	// The next poll rewrites generation 2 over the leftovers and switches.
	w.commit(ctx, w.write(ctx, []string{"ayc", "def"}))
	assert.Equal(t, []string{"ayc", "def"}, w.read(ctx))
	assert.Equal(t, []string{prefix + "1:1", prefix + "2:0"}, docIDs(t, dbURL, prefix),
		"the orphan 2:1 and 2:2 and the replaced 1:0 were collected")
}

func TestDeleteChunksKeep(t *testing.T) {
	t.Parallel()
	s, dbURL := newStore(t)
	ctx := t.Context()
	id := feed.RecordID("guest", "t")
	for gen := int64(1); gen <= 3; gen++ {
		for i := range 2 {
			_, err := s.PutChunk(ctx, id, gen, i, fmt.Appendf(nil, "%d-%d", gen, i))
			require.NoError(t, err)
		}
	}
	n, err := s.DeleteChunks(ctx, id, func(_ string, gen int64) bool { return gen == 2 })
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	assert.Equal(t, []string{"snap:guest/t:2:0", "snap:guest/t:2:1"}, docIDs(t, dbURL, "snap:guest/t:"))

	// A record that was never stored loses all its chunks on collection.
	n, err = s.CollectChunks(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Empty(t, docIDs(t, dbURL, "snap:guest/t:"))
}

func refIDs(s feed.Snapshot) []string {
	out := []string{}
	for _, c := range s.Chunks {
		out = append(out, c.ID)
	}
	return out
}
