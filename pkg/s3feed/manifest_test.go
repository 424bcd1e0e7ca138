package s3feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestManifestAdvance(t *testing.T) {
	ref := func(first, last string) ChunkRef {
		return ChunkRef{Hash: first + last, First: first, Last: last, Count: 1}
	}
	after := func(r ChunkRef, k string) ChunkRef { r.After = k; return r }
	old := Manifest{Chunks: []ChunkRef{ref("a", "c"), ref("d", "f"), ref("g", "i")}}
	tests := []struct {
		name    string
		written []ChunkRef
		want    []ChunkRef
	}{
		{name: "nothing written", want: old.Chunks},
		{name: "on an old boundary", written: []ChunkRef{ref("a", "f")}, want: []ChunkRef{ref("a", "f"), ref("g", "i")}},
		{name: "inside an old chunk", written: []ChunkRef{ref("a", "b"), ref("bb", "e")}, want: []ChunkRef{ref("a", "b"), ref("bb", "e"), after(ref("d", "f"), "e"), ref("g", "i")}},
		{name: "between old chunks", written: []ChunkRef{ref("a", "cc")}, want: []ChunkRef{ref("a", "cc"), ref("d", "f"), ref("g", "i")}},
		{name: "beyond the old listing", written: []ChunkRef{ref("a", "z")}, want: []ChunkRef{ref("a", "z")}},
		{name: "before the old listing", written: []ChunkRef{ref("0", "1")}, want: append([]ChunkRef{ref("0", "1")}, old.Chunks...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := old.Advance(tc.written)
			assert.Equal(t, tc.want, got.Chunks)
		})
	}
	// An After already further than the splice point is kept.
	partly := Manifest{Chunks: []ChunkRef{after(ref("a", "m"), "k")}}
	assert.Equal(t, []ChunkRef{ref("a", "c"), after(ref("a", "m"), "k")}, partly.Advance([]ChunkRef{ref("a", "c")}).Chunks)
}

// store is an in-memory chunk store keyed by hash.
type store map[string][]byte

func (s store) put(c *Chunk) {
	if c.Data != nil {
		s[c.Hash] = c.Data
	}
}

func (s store) fetch(_ context.Context, ref ChunkRef) ([]byte, error) {
	data, ok := s[ref.Hash]
	if !ok {
		return nil, fmt.Errorf("chunk %s: not found", ref.Hash)
	}
	return data, nil
}

// readAll reads a snapshot's whole listing through its Pager.
func readAll(t testing.TB, m Manifest, s store) []Object {
	t.Helper()
	p := m.Pager(s.fetch)
	var out []Object
	for {
		page, err := p.NextPage(t.Context())
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, page...)
	}
}

func TestManifestPager(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	objs := randomListing(r, 200)
	chunks := build(t, objs, WithTargetBytes(1024))
	require.Greater(t, len(chunks), 3)
	s := store{}
	for _, c := range chunks {
		s.put(c)
	}
	m := Manifest{Chunks: refsOf(chunks)}
	assert.Equal(t, objs, readAll(t, m, s))
	assert.Equal(t, len(objs), m.Objects())

	t.Run("after hides keys", func(t *testing.T) {
		cut := chunks[1].First
		m := Manifest{Chunks: refsOf(chunks)}
		m.Chunks[1].After = cut
		var want []Object
		for _, o := range objs {
			if o.Key != cut {
				want = append(want, o)
			}
		}
		assert.Equal(t, want, readAll(t, m, s))
	})

	damaged := func(t *testing.T, change func(m *Manifest, s store)) error {
		t.Helper()
		m := Manifest{Chunks: refsOf(chunks)}
		s2 := store{}
		for k, v := range s {
			s2[k] = v
		}
		change(&m, s2)
		p := m.Pager(s2.fetch)
		for {
			_, err := p.NextPage(t.Context())
			if err != nil {
				return err
			}
		}
	}
	t.Run("wrong data", func(t *testing.T) {
		err := damaged(t, func(m *Manifest, s store) { s[m.Chunks[1].Hash] = s[m.Chunks[2].Hash] })
		require.ErrorIs(t, err, ErrCorruptChunk)
	})
	t.Run("wrong count", func(t *testing.T) {
		err := damaged(t, func(m *Manifest, s store) { m.Chunks[1].Count++ })
		require.ErrorIs(t, err, ErrCorruptChunk)
	})
	t.Run("wrong last", func(t *testing.T) {
		err := damaged(t, func(m *Manifest, s store) { m.Chunks[1].Last += "x" })
		require.ErrorIs(t, err, ErrCorruptChunk)
	})
	t.Run("missing", func(t *testing.T) {
		err := damaged(t, func(m *Manifest, s store) { delete(s, m.Chunks[2].Hash) })
		require.Error(t, err)
		assert.NotErrorIs(t, err, io.EOF)
	})
}
