package s3feed

import (
	"context"
	"errors"
	"sync"
)

// aheadPager reads an inner Pager a few pages ahead of its caller, in a
// goroutine, so that the next pages (listing requests, snapshot chunks read
// and decoded) are on their way while the caller merges the current one. It
// holds at most depth+1 pages: the one the caller has and those read ahead.
// Pages, errors and io.EOF come out in the inner Pager's order; an error
// ends the reading, and the caller sees it only once it asks for the page
// that failed, so nothing after a failure point is ever delivered.
//
// The pages are copies of the inner Pager's, so that the inner one may reuse
// its buffer while the caller still reads the previous page. An aheadPager
// is not safe for concurrent use by several callers.
type aheadPager struct {
	inner   Pager
	results chan aheadPage
	free    chan []Object // page buffers the goroutine may fill
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	holding bool     // the caller has a buffer of free's
	held    []Object // that buffer
	direct  bool     // the goroutine read its limit: read inner on demand
	err     error    // sticky: the error the inner Pager ended with
}

type aheadPage struct {
	objs []Object
	err  error
	// limit reports that the goroutine read all the pages it was allowed;
	// it touches inner no more.
	limit bool
}

// readAhead starts reading inner in the background with ctx, at most depth
// (at least 1) pages ahead of the caller and at most limit pages in all (0:
// no limit; pages after the limit are read when asked for, as if without
// read-ahead). Cancel ctx, then call close, to stop the goroutine.
func readAhead(ctx context.Context, inner Pager, depth, limit int) *aheadPager {
	depth = max(depth, 1)
	p := &aheadPager{
		inner:   inner,
		results: make(chan aheadPage, depth+1),
		free:    make(chan []Object, depth+1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	for range depth + 1 { // the caller's buffer and those filled ahead
		p.free <- nil
	}
	go p.read(ctx, limit)
	return p
}

func (p *aheadPager) read(ctx context.Context, limit int) {
	defer close(p.done)
	for n := 0; ; n++ {
		if limit > 0 && n >= limit {
			p.send(aheadPage{limit: true})
			return
		}
		var buf []Object
		select {
		case buf = <-p.free:
		case <-p.stop:
			return
		}
		objs, err := p.inner.NextPage(ctx)
		if err == nil {
			buf = refill(buf, objs)
		}
		if !p.send(aheadPage{objs: buf, err: err}) || err != nil {
			return
		}
	}
}

// refill copies objs into buf and zeroes what is left of buf's previous
// page after them, so that the buffer holds on to no older page's strings
// (the decoded chunks of a snapshot share one string per chunk).
func refill(buf, objs []Object) []Object {
	old := len(buf)
	buf = append(buf[:0], objs...)
	if old > len(buf) {
		clear(buf[len(buf):old])
	}
	return buf
}

// send hands pg to the caller, unless the pager is closed while there is
// no room for it.
func (p *aheadPager) send(pg aheadPage) bool {
	select {
	case p.results <- pg:
		return true
	default:
	}
	select {
	case p.results <- pg:
		return true
	case <-p.stop:
		return false
	}
}

// NextPage returns the page read ahead, waiting for it while it is on its
// way, and lets the goroutine read the next one into the buffer of the page
// returned before.
func (p *aheadPager) NextPage(ctx context.Context) ([]Object, error) {
	if p.err != nil {
		return nil, p.err
	}
	if p.direct {
		return p.readDirect(ctx)
	}
	if p.holding {
		p.free <- p.held // never blocks: free has room for every buffer
		p.holding, p.held = false, nil
	}
	select {
	case pg := <-p.results:
		return p.take(ctx, pg)
	case <-p.done:
		// The goroutine ended; what it sent before is still to be taken.
		select {
		case pg := <-p.results:
			return p.take(ctx, pg)
		default:
			p.err = errAheadClosed
			return nil, p.err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// errAheadClosed is what a closed aheadPager returns once it has returned
// the pages read before.
var errAheadClosed = errors.New("read-ahead stopped")

func (p *aheadPager) take(ctx context.Context, pg aheadPage) ([]Object, error) {
	switch {
	case pg.limit:
		p.direct = true
		return p.readDirect(ctx)
	case pg.err != nil:
		p.err = pg.err
		return nil, pg.err
	}
	p.holding, p.held = true, pg.objs
	return pg.objs, nil
}

// readDirect reads inner in the caller's goroutine, once the goroutine
// read its limit.
func (p *aheadPager) readDirect(ctx context.Context) ([]Object, error) {
	objs, err := p.inner.NextPage(ctx)
	if err != nil {
		p.err = err
	}
	return objs, err
}

// close stops the goroutine and waits for it: for as long as a page read
// takes, unless the context given to readAhead was canceled first. close
// may be called more than once.
func (p *aheadPager) close() {
	p.once.Do(func() { close(p.stop) })
	<-p.done
}
