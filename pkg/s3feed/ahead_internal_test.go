package s3feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reusingPager serves pages of objs through one buffer it overwrites on
// every call, as ListPager and the snapshot pager do, then fails with err
// (io.EOF by default). Each call is counted and announced on calls.
type reusingPager struct {
	objs     []Object
	pageSize int
	err      error
	calls    chan int // receives the number of each call, when not nil

	mu  sync.Mutex
	n   int
	buf []Object
}

func (p *reusingPager) NextPage(ctx context.Context) ([]Object, error) {
	p.mu.Lock()
	p.n++
	n := p.n
	p.mu.Unlock()
	if p.calls != nil {
		p.calls <- n
	}
	if len(p.objs) == 0 {
		if p.err != nil {
			return nil, p.err
		}
		return nil, io.EOF
	}
	k := min(p.pageSize, len(p.objs))
	p.buf = append(p.buf[:0], p.objs[:k]...)
	p.objs = p.objs[k:]
	return p.buf, nil
}

func (p *reusingPager) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func numbered(n int) []Object {
	objs := make([]Object, n)
	for i := range objs {
		objs[i] = Object{Key: fmt.Sprintf("k%03d", i), ETag: fmt.Sprint(i)}
	}
	return objs
}

// drainPages drains p, copying each page, and returns the pages and the error
// that ended them.
func drainPages(t *testing.T, p Pager) ([][]Object, error) {
	t.Helper()
	var pages [][]Object
	for range 1000 {
		page, err := p.NextPage(t.Context())
		if err != nil {
			return pages, err
		}
		pages = append(pages, append([]Object(nil), page...))
	}
	t.Fatal("the pager did not end")
	return nil, nil
}

func TestReadAheadKeepsOrderAndErrors(t *testing.T) {
	errBroken := errors.New("broken page")
	tests := []struct {
		name       string
		objs, size int
		depth      int
		limit      int
		err        error
	}{
		{"one ahead to the end", 23, 5, 1, 0, nil},
		{"three ahead to the end", 23, 5, 3, 0, nil},
		{"failure after pages", 23, 5, 1, 0, errBroken},
		{"failure at once", 0, 5, 2, 0, errBroken},
		{"limit then on demand", 23, 5, 1, 2, nil},
		{"limit past the end", 7, 5, 2, 10, nil},
		{"depth below one counts as one", 12, 5, 0, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := drainPages(t, &reusingPager{objs: numbered(tc.objs), pageSize: tc.size, err: tc.err})
			inner := &reusingPager{objs: numbered(tc.objs), pageSize: tc.size, err: tc.err}
			ctx, cancel := context.WithCancel(t.Context())
			p := readAhead(ctx, inner, tc.depth, tc.limit)
			got, err := drainPages(t, p)
			assert.Equal(t, want, got, "the same pages in the same order")
			assert.Equal(t, wantErr, err, "the same error, after the last page")
			_, again := p.NextPage(t.Context())
			assert.Equal(t, wantErr, again, "the error stays")
			cancel()
			p.close()
			assert.Equal(t, len(want)+1, inner.count(), "no page read twice or past the end")
		})
	}
}

// TestReadAheadHoldsAtMostDepthPages lets the goroutine read as far as it
// may while the caller keeps its first page: it reads depth pages more,
// then waits, and the caller's page is not overwritten meanwhile.
func TestReadAheadHoldsAtMostDepthPages(t *testing.T) {
	for _, depth := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("depth %d", depth), func(t *testing.T) {
			inner := &reusingPager{objs: numbered(100), pageSize: 3, calls: make(chan int, 100)}
			ctx, cancel := context.WithCancel(t.Context())
			p := readAhead(ctx, inner, depth, 0)
			first, err := p.NextPage(t.Context())
			require.NoError(t, err)
			for want := 1; want <= depth+1; want++ {
				assert.Equal(t, want, <-inner.calls)
			}
			assert.Equal(t, numbered(3), first, "the caller's page was not overwritten by the pages read since")
			cancel()
			p.close()
			assert.Equal(t, depth+1, inner.count(), "the first page and depth pages ahead, no more")
		})
	}
}

// TestReadAheadCloseStopsARead closes a pager whose goroutine waits in a
// read: canceling the context ends the read, and close returns.
func TestReadAheadCloseStopsARead(t *testing.T) {
	started := make(chan struct{})
	var seen error
	inner := PagerFunc(func(ctx context.Context) ([]Object, error) {
		close(started)
		<-ctx.Done()
		seen = ctx.Err()
		return nil, ctx.Err()
	})
	ctx, cancel := context.WithCancel(t.Context())
	p := readAhead(ctx, inner, 1, 0)
	<-started
	cancel()
	p.close()
	p.close() // a second close is harmless
	assert.ErrorIs(t, seen, context.Canceled)
	_, err := p.NextPage(t.Context())
	assert.ErrorIs(t, err, context.Canceled, "the read's error is what comes next")
}

// TestReadAheadClosedWhileFull closes a pager whose goroutine waits for
// room: the pages read remain, then NextPage fails instead of waiting.
func TestReadAheadClosedWhileFull(t *testing.T) {
	inner := &reusingPager{objs: numbered(100), pageSize: 10, calls: make(chan int, 100)}
	ctx, cancel := context.WithCancel(t.Context())
	p := readAhead(ctx, inner, 2, 0)
	for range 2 {
		<-inner.calls
	}
	cancel()
	p.close()
	for i := range 2 {
		page, err := p.NextPage(t.Context())
		require.NoError(t, err)
		assert.Equal(t, numbered(100)[i*10:i*10+10], page)
	}
	_, err := p.NextPage(t.Context())
	assert.ErrorIs(t, err, errAheadClosed)
	assert.Equal(t, 2, inner.count())
}

// TestReadAheadCallerContext returns the caller's context error while the
// page it waits for is still being read.
func TestReadAheadCallerContext(t *testing.T) {
	release := make(chan struct{})
	inner := PagerFunc(func(ctx context.Context) ([]Object, error) {
		<-release
		return nil, io.EOF
	})
	p := readAhead(t.Context(), inner, 1, 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := p.NextPage(ctx)
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	_, err = p.NextPage(t.Context())
	assert.ErrorIs(t, err, io.EOF, "the page read meanwhile is still delivered")
	p.close()
}

// storedSnapshot cuts objs into chunks kept in a store.
func storedSnapshot(t *testing.T, objs []Object) (Manifest, store) {
	t.Helper()
	s := store{}
	var m Manifest
	for _, c := range build(t, objs, WithTargetBytes(4096)) {
		s.put(c)
		m.Chunks = append(m.Chunks, c.ChunkRef)
	}
	require.Greater(t, len(m.Chunks), 8)
	return m, s
}

// TestReadAheadThroughDiffer merges a snapshot whose chunks are read ahead
// with a listing read ahead: the changes are those of the plain merge, in
// key order.
func TestReadAheadThroughDiffer(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	old := realisticListing(r, 3000)
	now := mutate(r, old, 0.05)
	m, st := storedSnapshot(t, old)
	want, wantListed := collect(t, NewDiffer(m.Pager(st.fetch), &reusingPager{objs: now, pageSize: 250}))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	chunks := fetchAhead(ctx, m.Chunks, st.fetch, 3)
	next := readAhead(ctx, &reusingPager{objs: now, pageSize: 250}, 1, 0)
	defer chunks.close()
	defer next.close()
	got, listed := collect(t, NewDiffer(m.Pager(chunks.fetch), next))
	assert.Equal(t, want, got)
	assert.Equal(t, wantListed, listed)
	keys := make([]string, len(got))
	for i, c := range got {
		keys[i] = c.Object.Key
	}
	assert.IsIncreasing(t, keys, "changes in key order")
}

// TestFetchAhead reads the chunks of a snapshot ahead: at most depth beyond
// the one taken, in order, a failed read reported for its chunk only.
func TestFetchAhead(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	m, st := storedSnapshot(t, realisticListing(r, 2000))
	errBroken := errors.New("broken chunk")
	tests := []struct {
		name   string
		depth  int
		failAt int // -1: none
	}{{"one ahead", 1, -1}, {"three ahead", 3, -1}, {"failure", 3, 4}, {"failure at once", 2, 0}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			fetched := 0
			calls := make(chan struct{}, len(m.Chunks))
			fetch := func(ctx context.Context, ref ChunkRef) ([]byte, error) {
				mu.Lock()
				fetched++
				n := fetched
				mu.Unlock()
				calls <- struct{}{}
				if n-1 == tc.failAt {
					return nil, errBroken
				}
				return st.fetch(ctx, ref)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			a := fetchAhead(ctx, m.Chunks, fetch, tc.depth)
			defer a.close()
			early := tc.depth // the goroutine reads depth chunks before any is asked for
			if tc.failAt >= 0 {
				early = min(early, tc.failAt+1) // or up to the failure
			}
			for range early {
				<-calls
			}
			for i, ref := range m.Chunks {
				data, err := a.fetch(t.Context(), ref)
				if i == tc.failAt {
					require.ErrorIs(t, err, errBroken, "chunk %d", i)
					_, err = a.fetch(t.Context(), m.Chunks[i+1])
					assert.ErrorIs(t, err, errBroken, "the failure stays")
					mu.Lock()
					assert.Equal(t, i+1, fetched, "nothing read after the failure")
					mu.Unlock()
					return
				}
				require.NoError(t, err, "chunk %d", i)
				assert.Equal(t, st[ref.Hash], data)
				mu.Lock()
				assert.LessOrEqual(t, fetched, min(i+1+tc.depth, len(m.Chunks)), "at most depth chunks read beyond the one taken")
				mu.Unlock()
			}
			_, err := a.fetch(t.Context(), m.Chunks[0])
			assert.Error(t, err, "no chunk past the last")
		})
	}
}

// TestFetchAheadOutOfOrder asks for another chunk than the next one: an
// error, not the wrong bytes.
func TestFetchAheadOutOfOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	m, st := storedSnapshot(t, realisticListing(r, 2000))
	a := fetchAhead(t.Context(), m.Chunks, st.fetch, 2)
	defer a.close()
	_, err := a.fetch(t.Context(), m.Chunks[1])
	require.Error(t, err)
	assert.Contains(t, err.Error(), m.Chunks[1].Hash)
}
