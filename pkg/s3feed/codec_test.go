package s3feed

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encodeOne encodes objs as a single chunk, whatever the boundaries.
func encodeOne(t testing.TB, objs []Object, level int) (raw, data []byte) {
	t.Helper()
	var e chunkEncoder
	for i := range objs {
		e.add(&objs[i])
	}
	raw = bytes.Clone(e.finish())
	return raw, deflate(t, raw, level)
}

// deflaters are reused: a flate.Writer costs about a megabyte.
var deflaters = map[int]*flate.Writer{}

func deflate(t testing.TB, raw []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw := deflaters[level]
	if fw == nil {
		var err error
		fw, err = flate.NewWriter(&buf, level)
		require.NoError(t, err)
		deflaters[level] = fw
	}
	fw.Reset(&buf)
	_, err := fw.Write(raw)
	require.NoError(t, err)
	require.NoError(t, fw.Close())
	return buf.Bytes()
}

func TestChunkRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var dec ChunkDecoder
	var dst []Object
	for i := range 300 {
		objs := randomListing(r, 1+r.IntN(60))
		if i%3 == 0 {
			objs = append(realisticListing(r, r.IntN(50)), objs...)
			sortObjects(objs)
		}
		raw, data := encodeOne(t, objs, flate.BestSpeed)
		got, hash, err := dec.Decode(data, dst)
		require.NoError(t, err)
		assert.Equal(t, objs, got)
		assert.Equal(t, chunkHash(raw), hash)
		dst = got

		alone, err := DecodeChunk(data)
		require.NoError(t, err)
		assert.Equal(t, objs, alone)
	}
}

func TestChunkRoundTripEdgeValues(t *testing.T) {
	objs := []Object{
		{Key: "\x00"},
		{Key: "\x00\x00", ETag: "d41d8cd98f00b204e9800998ecf8427e", Size: 0, LastModified: time.Unix(0, 0).UTC()},
		{Key: "a", ETag: "d41d8cd98f00b204e9800998ecf8427e-1", Size: 1<<63 - 1, StorageClass: "GLACIER"},
		{Key: "a/日本/😀", ETag: "d41d8cd98f00b204e9800998ecf8427e-0", LastModified: time.Unix(-1, 999_999_999).UTC()},
		{Key: "a/日本/😀/x", ETag: "D41D8CD98F00B204E9800998ECF8427E", LastModified: time.Unix(1<<40, 1).UTC()},
		{Key: "b", ETag: "d41d8cd98f00b204e9800998ecf8427e-18446744073709551615"},
		{Key: "c", ETag: "d41d8cd98f00b204e9800998ecf8427e-18446744073709551616"},
		{Key: "d", ETag: "d41d8cd98f00b204e9800998ecf8427e-"},
		{Key: "e", ETag: "d41d8cd98f00b204e9800998ecf8427"},
		{Key: string(bytes.Repeat([]byte("k"), 1024)), ETag: `"quoted"`},
		{Key: "\xff\xfe not utf-8", ETag: "\x00"},
	}
	_, data := encodeOne(t, objs, flate.BestSpeed)
	got, err := DecodeChunk(data)
	require.NoError(t, err)
	assert.Equal(t, objs, got)
}

func TestClassifyETag(t *testing.T) {
	md5 := "0123456789abcdef0123456789abcdef"
	tests := []struct {
		etag  string
		kind  byte
		parts uint64
	}{
		{"", etagEmpty, 0},
		{md5, etagMD5, 0},
		{md5 + "-3", etagMultipart, 3},
		{md5 + "-10000", etagMultipart, 10000},
		{md5 + "-03", etagText, 0},
		{md5 + "-", etagText, 0},
		{md5 + "-x", etagText, 0},
		{"0123456789ABCDEF0123456789abcdef", etagText, 0},
		{md5[:31] + "g", etagText, 0},
	}
	for _, tc := range tests {
		kind, sum, parts := classifyETag(tc.etag)
		assert.Equal(t, tc.kind, kind, tc.etag)
		assert.Equal(t, tc.parts, parts, tc.etag)
		if kind == etagMD5 || kind == etagMultipart {
			assert.Equal(t, []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, sum[:8])
		}
	}
}

func TestDecodeChunkRejectsCorruptData(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	objs := randomListing(r, 40)
	raw, data := encodeOne(t, objs, flate.BestSpeed)

	_, err := DecodeChunk(data[:len(data)/2])
	require.ErrorIs(t, err, ErrCorruptChunk)
	_, err = DecodeChunk([]byte("not deflate at all"))
	require.ErrorIs(t, err, ErrCorruptChunk)

	// Damaged text inside valid deflate: an error or other objects, never a
	// panic, and never a silent success with the same hash.
	for range 400 {
		bad := bytes.Clone(raw)
		switch r.IntN(3) {
		case 0:
			bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
		case 1:
			bad = bad[:r.IntN(len(bad))]
		case 2:
			bad = append(bad, byte(r.IntN(256)))
		}
		var dec ChunkDecoder
		got, hash, err := dec.Decode(deflate(t, bad, flate.BestSpeed), nil)
		if err != nil {
			require.ErrorIs(t, err, ErrCorruptChunk)
			continue
		}
		assert.NotEqual(t, chunkHash(raw), hash)
		for _, o := range got {
			assert.GreaterOrEqual(t, o.Size, int64(0))
		}
	}
}

func FuzzDecodeChunk(f *testing.F) {
	r := rand.New(rand.NewPCG(15, 16))
	_, data := encodeOne(f, randomListing(r, 20), flate.BestSpeed)
	f.Add(data)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := DecodeChunk(data)
		if err != nil {
			require.ErrorIs(t, err, ErrCorruptChunk)
			return
		}
		for _, o := range objs {
			require.GreaterOrEqual(t, o.Size, int64(0))
		}
	})
}

// gzippedJSON returns the size of the listing as a gzipped JSON array, the
// yardstick of the snapshot format.
func gzippedJSON(t testing.TB, objs []Object, level int) int {
	t.Helper()
	js, err := json.Marshal(objs)
	require.NoError(t, err)
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	require.NoError(t, err)
	_, err = zw.Write(js)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Len()
}

// storedSize builds the snapshot of objs and returns its total data size.
func storedSize(t testing.TB, objs []Object, opts ...BuilderOption) (size, chunks int) {
	t.Helper()
	b, err := NewBuilder(opts...)
	require.NoError(t, err)
	for _, o := range objs {
		c, err := b.Add(o)
		if err != nil {
			t.Fatal(err) // not require: it is called per object, in benchmarks too
		}
		if c != nil {
			size += len(c.Data)
			chunks++
		}
	}
	c, err := b.Flush()
	require.NoError(t, err)
	if c != nil {
		size += len(c.Data)
		chunks++
	}
	return size, chunks
}

// TestSnapshotSmallerThanGzippedJSON holds the format to its target: at most
// 0.8 times the gzipped JSON of the same listing, even against gzip's best
// level.
func TestSnapshotSmallerThanGzippedJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	objs := realisticListing(r, 10_000)
	stored, chunks := storedSize(t, objs)
	gz := gzippedJSON(t, objs, gzip.BestCompression)
	n := float64(len(objs))
	t.Logf("%d objects, %d chunks: snapshot %.1f B/object, gzipped JSON (best) %.1f B/object, ratio %.3f",
		len(objs), chunks, float64(stored)/n, float64(gz)/n, float64(stored)/float64(gz))
	assert.LessOrEqual(t, float64(stored), 0.8*float64(gz))
}
