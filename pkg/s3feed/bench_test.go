package s3feed

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
)

// changedListing returns a copy of listing with a fraction rate of entries
// changed: a third of them modified, a third deleted, a third added next to
// an existing key.
func changedListing(r *rand.Rand, listing []Object, rate float64) []Object {
	out := make([]Object, 0, len(listing)+int(float64(len(listing))*rate))
	for _, o := range listing {
		if r.Float64() >= rate {
			out = append(out, o)
			continue
		}
		switch r.IntN(3) {
		case 0:
			o.ETag = randomETag(r)
			out = append(out, o)
		case 1:
			// deleted
		case 2:
			out = append(out, o)
			n := o
			n.Key += ".new"
			n.ETag = randomETag(r)
			out = append(out, n)
		}
	}
	return out
}

// BenchmarkDiff merges two listings of 1,000,000 objects (and of 100,000, to
// show that allocations do not grow with entries) in S3-sized pages of 1,000;
// entries/s counts objects of the new listing.
func BenchmarkDiff(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{1_000_000, 100_000} {
		prev := realisticListing(r, n)
		for _, rate := range []float64{0.001, 0.01, 0.1} {
			if n != 1_000_000 && rate != 0.01 {
				continue
			}
			next := changedListing(r, prev, rate)
			b.Run(fmt.Sprintf("entries=%d/changed=%g%%", n, rate*100), func(b *testing.B) {
				b.ReportAllocs()
				changes := 0
				for b.Loop() {
					d := NewDiffer(SlicePager(prev, 1000), SlicePager(next, 1000))
					changes = 0
					for {
						step, err := d.Next(b.Context())
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
						changes += len(step.Changes)
					}
				}
				b.ReportMetric(float64(len(next))*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
				b.ReportMetric(float64(changes), "changes/op")
			})
		}
	}
}

// BenchmarkSnapshot builds the snapshot of 1,000,000 realistic objects at
// each deflate level and reports bytes per object, for the format and for the
// gzipped JSON of the same listing; then it decodes the snapshot.
func BenchmarkSnapshot(b *testing.B) {
	const n = 1_000_000
	r := rand.New(rand.NewPCG(8, 8))
	objs := realisticListing(r, n)
	var gzDefault, gzBest int
	yardstick := func() {
		if gzDefault == 0 {
			gzDefault = gzippedJSON(b, objs, gzip.DefaultCompression)
			gzBest = gzippedJSON(b, objs, gzip.BestCompression)
		}
	}
	levels := []struct {
		name  string
		level int
	}{
		{"none", flate.NoCompression},
		{"huffman", flate.HuffmanOnly},
		{"speed", flate.BestSpeed},
		{"default", flate.DefaultCompression},
		{"best", flate.BestCompression},
	}
	for _, l := range levels {
		b.Run("build/level="+l.name, func(b *testing.B) {
			yardstick()
			b.ReportAllocs()
			var size, chunks int
			for b.Loop() {
				size, chunks = storedSize(b, objs, WithCompressionLevel(l.level))
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
			b.ReportMetric(float64(size)/n, "B/object")
			b.ReportMetric(float64(size)/float64(gzDefault), "x-gzjson")
			b.ReportMetric(float64(size)/float64(gzBest), "x-gzjson-best")
			b.ReportMetric(float64(chunks), "chunks")
		})
	}
	b.Run("build/unchanged", func(b *testing.B) {
		b.ReportAllocs()
		known := WithKnownChunk(func(string) bool { return true })
		for b.Loop() {
			storedSize(b, objs, known)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})
	b.Run("decode", func(b *testing.B) {
		chunks := build(b, objs)
		s := store{}
		for _, c := range chunks {
			s.put(c)
		}
		m := Manifest{Chunks: refsOf(chunks)}
		b.ReportAllocs()
		for b.Loop() {
			p := m.Pager(s.fetch)
			for {
				if _, err := p.NextPage(b.Context()); err != nil {
					if errors.Is(err, io.EOF) {
						break
					}
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})
}

// BenchmarkPoll runs the pure part of a poll of 1,000,000 objects: decode the
// stored snapshot, merge it with the listing, and build the new snapshot
// (compressing only the chunks not stored yet). Changes are either spread
// uniformly (1% of objects), or 10,000 new keys appended after the last one
// (new log files), or none.
func BenchmarkPoll(b *testing.B) {
	const n = 1_000_000
	r := rand.New(rand.NewPCG(9, 9))
	prev := realisticListing(r, n)
	appended := slices.Clone(prev)
	for _, o := range realisticListing(r, 10_000) {
		o.Key = "zz/" + o.Key
		appended = append(appended, o)
	}
	s := store{}
	chunks := build(b, prev)
	for _, c := range chunks {
		s.put(c)
	}
	m := Manifest{Chunks: refsOf(chunks)}
	known := WithKnownChunk(func(h string) bool { _, ok := s[h]; return ok })
	for _, tc := range []struct {
		name string
		next []Object
	}{
		{"uniform-1%", changedListing(r, prev, 0.01)},
		{"appended-1%", appended},
		{"unchanged", prev},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var changes, written int
			for b.Loop() {
				changes, written = pollCore(b, m, s, tc.next, known)
			}
			b.ReportMetric(float64(len(tc.next))*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64(changes), "changes/op")
			b.ReportMetric(float64(written), "chunks-written/op")
			b.ReportMetric(float64(len(chunks)), "chunks")
		})
	}
}

func pollCore(b *testing.B, m Manifest, s store, next []Object, known BuilderOption) (changes, written int) {
	bld, err := NewBuilder(known)
	if err != nil {
		b.Fatal(err)
	}
	d := NewDiffer(m.Pager(s.fetch), SlicePager(next, 1000))
	for {
		step, err := d.Next(b.Context())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		changes += len(step.Changes)
		for _, o := range step.Listed {
			c, err := bld.Add(o)
			if err != nil {
				b.Fatal(err)
			}
			if c != nil && c.Data != nil {
				written++
			}
		}
	}
	c, err := bld.Flush()
	if err != nil {
		b.Fatal(err)
	}
	if c != nil && c.Data != nil {
		written++
	}
	return changes, written
}
