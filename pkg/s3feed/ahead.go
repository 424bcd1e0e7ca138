package s3feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// errAheadClosed is what a closed read-ahead returns once it has returned
// what it read before.
var errAheadClosed = errors.New("read-ahead stopped")

// ahead calls next in a goroutine, at most depth results ahead of the
// caller of take, so that the next results (listing requests, snapshot
// chunks read from CouchDB) are on their way while the caller works on the
// current one. Results, errors and io.EOF come out in next's order; an error
// ends the reading, and the caller sees it only once it asks for the result
// that failed. After limit results (0: no limit), the goroutine ends and
// take calls direct itself, as if without read-ahead. An ahead is not safe
// for concurrent use by several callers.
type ahead[T any] struct {
	results chan aheadResult[T]
	slots   chan struct{} // one per result read or being read, not yet taken
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	direct func(context.Context) (T, error)
	reads  bool  // the goroutine read its limit: take calls direct
	err    error // sticky: the error the reading ended with
}

type aheadResult[T any] struct {
	v   T
	err error
	// limit reports that the goroutine read all it was allowed to; it calls
	// next no more.
	limit bool
}

// goAhead starts reading with next in the background with ctx. Cancel ctx,
// then call close, to stop the goroutine.
func goAhead[T any](ctx context.Context, depth, limit int, next, direct func(context.Context) (T, error)) *ahead[T] {
	depth = max(depth, 1)
	a := &ahead[T]{
		results: make(chan aheadResult[T], depth+1),
		slots:   make(chan struct{}, depth),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		direct:  direct,
	}
	go a.read(ctx, limit, next)
	return a
}

func (a *ahead[T]) read(ctx context.Context, limit int, next func(context.Context) (T, error)) {
	defer close(a.done)
	for n := 0; ; n++ {
		if limit > 0 && n >= limit {
			a.results <- aheadResult[T]{limit: true} // never blocks: room for depth+1
			return
		}
		select {
		case a.slots <- struct{}{}:
		case <-a.stop:
			return
		}
		v, err := next(ctx)
		a.results <- aheadResult[T]{v: v, err: err} // never blocks: a slot was free
		if err != nil {
			return
		}
	}
}

// take returns the next result, waiting for it while it is on its way.
func (a *ahead[T]) take(ctx context.Context) (T, error) {
	var zero T
	if a.err != nil {
		return zero, a.err
	}
	if a.reads {
		v, err := a.direct(ctx)
		if err != nil {
			a.err = err
		}
		return v, err
	}
	select {
	case r := <-a.results:
		return a.got(ctx, r)
	case <-a.done:
		// The goroutine ended; what it read before is still to be taken.
		select {
		case r := <-a.results:
			return a.got(ctx, r)
		default:
			a.err = errAheadClosed
			return zero, a.err
		}
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (a *ahead[T]) got(ctx context.Context, r aheadResult[T]) (T, error) {
	if r.limit {
		a.reads = true
		return a.take(ctx)
	}
	<-a.slots
	if r.err != nil {
		a.err = r.err
	}
	return r.v, r.err
}

// close stops the goroutine and waits for it: for as long as a read takes,
// unless the context given to goAhead was canceled first. What was read
// before can still be taken. close may be called more than once.
func (a *ahead[T]) close() {
	a.once.Do(func() { close(a.stop) })
	<-a.done
}

// aheadPager reads an inner Pager depth pages ahead of its caller. Its pages
// are copies of the inner Pager's, in buffers it recycles (depth+1 of them:
// the caller's and those read ahead), as the inner one may reuse its buffer
// while the caller still reads the previous page.
type aheadPager struct {
	*ahead[[]Object]
	free    chan []Object // buffers the goroutine may fill
	holding bool          // the caller has a buffer of free's
	held    []Object      // that buffer
}

// readAhead starts reading inner in the background with ctx, at most depth
// (at least 1) pages ahead of the caller and at most limit pages in all (0:
// no limit; pages after the limit are read when asked for). Cancel ctx, then
// call close, to stop the goroutine.
func readAhead(ctx context.Context, inner Pager, depth, limit int) *aheadPager {
	depth = max(depth, 1)
	p := &aheadPager{free: make(chan []Object, depth+1)}
	for range depth + 1 {
		p.free <- nil
	}
	p.ahead = goAhead(ctx, depth, limit, func(ctx context.Context) ([]Object, error) {
		// A buffer is free whenever a slot is: depth slots, and the
		// caller returns its buffer before it takes the next page.
		var buf []Object
		select {
		case buf = <-p.free:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		objs, err := inner.NextPage(ctx)
		if err != nil {
			p.free <- buf
			return nil, err
		}
		return refill(buf, objs), nil
	}, inner.NextPage)
	return p
}

// refill copies objs into buf and zeroes what is left of buf's previous
// page after them, so that the buffer holds on to no older page's strings.
func refill(buf, objs []Object) []Object {
	old := len(buf)
	buf = append(buf[:0], objs...)
	if old > len(buf) {
		clear(buf[len(buf):old])
	}
	return buf
}

// NextPage returns the next page, waiting for it while it is on its way,
// and gives the buffer of the page returned before back to the goroutine.
func (p *aheadPager) NextPage(ctx context.Context) ([]Object, error) {
	if p.holding {
		p.free <- p.held // never blocks: free has room for every buffer
		p.holding, p.held = false, nil
	}
	page, err := p.take(ctx)
	if err == nil && !p.reads {
		p.holding, p.held = true, page
	}
	return page, err
}

// chunkAhead reads the chunks of a snapshot, in order, depth chunks ahead
// of the ChunkFetcher it serves: only their stored bytes, which the caller
// decodes, so that what it holds is a few compressed chunks.
type chunkAhead struct {
	*ahead[fetchedChunk]
}

type fetchedChunk struct {
	hash string
	data []byte
}

// fetchAhead starts reading the chunks of refs with fetch in the background
// with ctx, at most depth (at least 1) ahead of the caller. Cancel ctx, then
// call close, to stop the goroutine.
func fetchAhead(ctx context.Context, refs []ChunkRef, fetch ChunkFetcher, depth int) *chunkAhead {
	next := func(ctx context.Context) (fetchedChunk, error) {
		if len(refs) == 0 {
			return fetchedChunk{}, io.EOF
		}
		ref := refs[0]
		refs = refs[1:]
		data, err := fetch(ctx, ref)
		return fetchedChunk{hash: ref.Hash, data: data}, err
	}
	return &chunkAhead{goAhead(ctx, depth, 0, next, nil)}
}

// fetch is the ChunkFetcher: it returns the data of ref, which must be the
// next chunk of the refs given to fetchAhead.
func (c *chunkAhead) fetch(ctx context.Context, ref ChunkRef) ([]byte, error) {
	got, err := c.take(ctx)
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("chunk %s: past the last chunk read ahead", ref.Hash)
	}
	if err != nil {
		return nil, err
	}
	if got.hash != ref.Hash {
		c.err = fmt.Errorf("chunk %s: chunk %s was read ahead in its place", ref.Hash, got.hash)
		return nil, c.err
	}
	return got.data, nil
}
