package s3feed

import (
	"context"
	"fmt"
	"io"
)

// Manifest lists the chunks of a stored snapshot in key order. The snapshot's
// listing is the concatenation of the chunks' objects, less those hidden by a
// chunk's After.
type Manifest struct {
	Chunks []ChunkRef `json:"chunks"`
}

// Objects returns the number of objects in the snapshot, counting partly
// hidden chunks in full.
func (m Manifest) Objects() int {
	n := 0
	for _, c := range m.Chunks {
		n += c.Count
	}
	return n
}

// Advance returns the manifest of a poll that stopped part-way: written are
// the first chunks of the new listing, in order and stored, whose changes were
// all fired (every key <= the last chunk's Last); the rest of the listing
// still comes from m. An old chunk straddling the splice point is kept with
// After set, so nothing is re-encoded. The next poll diffs against the result,
// so the changes after the splice point are reported again, with the same
// event IDs: duplicates, never gaps.
//
// When a poll merged the whole listing, its manifest is simply all its chunks;
// Advance is for partial progress only. m is not modified.
func (m Manifest) Advance(written []ChunkRef) Manifest {
	if len(written) == 0 {
		return m
	}
	return m.AdvanceTo(written, written[len(written)-1].Last)
}

// AdvanceTo is Advance with an explicit splice point: written holds exactly
// the new listing's objects with keys <= through, and the rest comes from m.
// It is for a poll that merged up to through, whose last keys may be
// deletions that no written chunk shows. m is not modified.
func (m Manifest) AdvanceTo(written []ChunkRef, through string) Manifest {
	tail := m.Tail(through)
	out := Manifest{Chunks: make([]ChunkRef, 0, len(written)+len(tail.Chunks))}
	out.Chunks = append(out.Chunks, written...)
	out.Chunks = append(out.Chunks, tail.Chunks...)
	return out
}

// Tail returns the part of the snapshot after key k: chunks whose keys are
// all <= k are dropped, and a chunk straddling k is kept with After set to
// k. Tail("") is m. m is not modified.
func (m Manifest) Tail(k string) Manifest {
	out := Manifest{Chunks: make([]ChunkRef, 0, len(m.Chunks))}
	for _, c := range m.Chunks {
		if c.Last <= k {
			continue
		}
		if c.First <= k && c.After < k {
			c.After = k
		}
		out.Chunks = append(out.Chunks, c)
	}
	return out
}

// ChunkFetcher returns the stored data of a chunk.
type ChunkFetcher func(ctx context.Context, ref ChunkRef) ([]byte, error)

// Pager returns a Pager over the snapshot's listing, one chunk per page,
// fetching each chunk when needed. Each chunk's hash, count and first and last
// keys are checked against its ChunkRef. The pages share one buffer, as Pager
// allows.
func (m Manifest) Pager(fetch ChunkFetcher) Pager {
	return &snapshotPager{refs: m.Chunks, fetch: fetch}
}

type snapshotPager struct {
	refs  []ChunkRef
	fetch ChunkFetcher
	dec   ChunkDecoder
	page  []Object
}

func (p *snapshotPager) NextPage(ctx context.Context) ([]Object, error) {
	if len(p.refs) == 0 {
		return nil, io.EOF
	}
	ref := p.refs[0]
	p.refs = p.refs[1:]
	data, err := p.fetch(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("fetch chunk %s: %w", ref.Hash, err)
	}
	objs, hash, err := p.dec.Decode(data, p.page)
	if err != nil {
		return nil, fmt.Errorf("read chunk %s: %w", ref.Hash, err)
	}
	p.page = objs
	switch {
	case hash != ref.Hash:
		return nil, fmt.Errorf("read chunk %s: %w: content hash is %s", ref.Hash, ErrCorruptChunk, hash)
	case len(objs) != ref.Count || len(objs) == 0 || objs[0].Key != ref.First || objs[len(objs)-1].Key != ref.Last:
		return nil, fmt.Errorf("read chunk %s: %w: objects do not match its reference", ref.Hash, ErrCorruptChunk)
	}
	if ref.After != "" {
		i := 0
		for i < len(objs) && objs[i].Key <= ref.After {
			i++
		}
		objs = objs[i:]
	}
	return objs, nil
}
