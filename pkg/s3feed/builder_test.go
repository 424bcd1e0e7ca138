package s3feed

import (
	"compress/flate"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// build cuts objs into chunks, failing the test on error.
func build(t testing.TB, objs []Object, opts ...BuilderOption) []*Chunk {
	t.Helper()
	b, err := NewBuilder(opts...)
	require.NoError(t, err)
	var chunks []*Chunk
	for _, o := range objs {
		c, err := b.Add(o)
		if err != nil {
			t.Fatal(err) // not require: it is called per object, in benchmarks too
		}
		if c != nil {
			chunks = append(chunks, c)
		}
	}
	c, err := b.Flush()
	require.NoError(t, err)
	if c != nil {
		chunks = append(chunks, c)
	}
	return chunks
}

func refsOf(chunks []*Chunk) []ChunkRef {
	refs := make([]ChunkRef, len(chunks))
	for i, c := range chunks {
		refs[i] = c.ChunkRef
	}
	return refs
}

// newHashes returns how many chunks of b have a hash absent from a: the chunks
// a poll would write.
func newHashes(a, b []*Chunk) int {
	old := map[string]bool{}
	for _, c := range a {
		old[c.Hash] = true
	}
	n := 0
	for _, c := range b {
		if !old[c.Hash] {
			n++
		}
	}
	return n
}

func TestBuilderRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for range 100 {
		objs := randomListing(r, r.IntN(300))
		chunks := build(t, objs, WithTargetBytes(1024), WithMaxObjects(1+r.IntN(50)))
		var got []Object
		prevLast := ""
		for _, c := range chunks {
			part, err := DecodeChunk(c.Data)
			require.NoError(t, err)
			require.NotEmpty(t, part)
			assert.Equal(t, c.Count, len(part))
			assert.Equal(t, c.First, part[0].Key)
			assert.Equal(t, c.Last, part[len(part)-1].Key)
			assert.Greater(t, c.First, prevLast)
			prevLast = c.Last
			got = append(got, part...)
		}
		assert.Equal(t, objs, got)
	}
}

func TestBuilderBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	objs := realisticListing(r, 5000)
	for _, c := range build(t, objs, WithMaxObjects(100)) {
		assert.LessOrEqual(t, c.Count, 100)
	}

	// Long random keys: the byte bound must hold up to one object.
	var long []Object
	for i := range 3000 {
		o := tortureObject(r, fmt.Sprintf("%06d/%s", i, randomETag(r)+randomETag(r)+randomETag(r)))
		long = append(long, o)
	}
	const maxBytes = 8 << 10
	var dec ChunkDecoder
	for _, c := range build(t, long, WithMaxBytes(maxBytes)) {
		_, _, err := dec.Decode(c.Data, nil)
		require.NoError(t, err)
		assert.LessOrEqual(t, dec.raw.Len(), maxBytes+256)
	}
}

// TestBuilderStableBoundaries checks the property the chunking is chosen for:
// an unchanged listing gives identical chunks, and one put, overwrite or
// delete rewrites at most two chunks.
func TestBuilderStableBoundaries(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	objs := realisticListing(r, 30_000)
	// Compression does not move boundaries; skip it to keep the test fast.
	base := build(t, objs, WithCompressionLevel(flate.NoCompression))
	require.Greater(t, len(base), 10)
	again := build(t, slices.Clone(objs), WithCompressionLevel(flate.NoCompression))
	assert.Equal(t, base, again, "an unchanged listing must give byte-identical chunks")

	for i := range 12 {
		mutated := slices.Clone(objs)
		at := r.IntN(len(mutated))
		var op string
		switch i % 3 {
		case 0:
			op = "put"
			n := mutated[at]
			n.Key += "-copy"
			n.ETag = randomETag(r)
			mutated = slices.Insert(mutated, at+1, n)
		case 1:
			op = "overwrite"
			mutated[at].ETag = randomETag(r)
			mutated[at].Size++
		case 2:
			op = "delete"
			mutated = slices.Delete(mutated, at, at+1)
		}
		chunks := build(t, mutated, WithCompressionLevel(flate.NoCompression))
		written := newHashes(base, chunks)
		assert.GreaterOrEqual(t, written, 1, op)
		assert.LessOrEqual(t, written, 2, "%s at %d rewrote %d of %d chunks", op, at, written, len(chunks))
	}
}

func TestBuilderKnownChunksAreNotEncoded(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	objs := realisticListing(r, 20_000)
	base := build(t, objs)
	stored := map[string]bool{}
	for _, c := range base {
		stored[c.Hash] = true
	}
	known := WithKnownChunk(func(hash string) bool { return stored[hash] })

	for _, c := range build(t, objs, known) {
		assert.Nil(t, c.Data)
	}

	objs[len(objs)/2].ETag = randomETag(r)
	withData := 0
	for _, c := range build(t, objs, known) {
		if c.Data != nil {
			withData++
			assert.False(t, stored[c.Hash])
		}
	}
	assert.Equal(t, 1, withData)
	assert.Equal(t, refsOf(base)[0], refsOf(build(t, objs, known))[0])
}

func TestBuilderRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		objs    []Object
		flushed bool
		unsort  bool
	}{
		{name: "empty key", objs: []Object{{Key: ""}}},
		{name: "descending", objs: []Object{{Key: "b"}, {Key: "a"}}, unsort: true},
		{name: "duplicate", objs: []Object{{Key: "a"}, {Key: "a"}}, unsort: true},
		{name: "negative size", objs: []Object{{Key: "a", Size: -1}}},
		{name: "after flush", objs: []Object{{Key: "a"}}, flushed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewBuilder(WithMaxObjects(1)) // cuts after every object
			require.NoError(t, err)
			if tc.flushed {
				_, err = b.Flush()
				require.NoError(t, err)
			}
			for _, o := range tc.objs {
				if _, err = b.Add(o); err != nil {
					break
				}
			}
			require.Error(t, err)
			if tc.unsort {
				require.ErrorIs(t, err, ErrUnsorted)
			}
		})
	}
}

func TestBuilderOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  BuilderOption
		want string
	}{
		{name: "target", opt: WithTargetBytes(10), want: "target bytes"},
		{name: "max bytes", opt: WithMaxBytes(1 << 30), want: "max bytes"},
		{name: "max objects", opt: WithMaxObjects(0), want: "max objects"},
		{name: "level", opt: WithCompressionLevel(12), want: "compression level"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewBuilder(tc.opt)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestBuilderChunkSizes checks that boundaries follow the key weight: chunks
// average about the target whatever the key length, and the hard bounds
// rarely cut.
func TestBuilderChunkSizes(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for _, keyLen := range []int{16, 48, 512} {
		n := min(20_000, 2_000_000/keyLen)
		t.Run(fmt.Sprint(keyLen), func(t *testing.T) {
			const target = 8 << 10
			objs := make([]Object, n)
			for i := range objs {
				k := fmt.Sprintf("%08d", i)
				for len(k) < keyLen {
					k += "/" + randomETag(r)
				}
				objs[i] = Object{Key: k[:keyLen], ETag: randomETag(r)}
			}
			chunks := build(t, objs, WithTargetBytes(target), WithCompressionLevel(flate.NoCompression))
			wantObjects := float64(target) / float64(keyLen+keyWeight)
			got := float64(len(objs)) / float64(len(chunks))
			t.Logf("key length %d: %d chunks, %.0f objects per chunk, expected about %.0f", keyLen, len(chunks), got, wantObjects)
			// Chunk lengths are about geometric (standard deviation near the
			// mean): allow four standard errors.
			assert.InDelta(t, wantObjects, got, wantObjects*4/math.Sqrt(float64(len(chunks))))
		})
	}
}
