package main

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// timing is an http.RoundTripper that adds up how long requests take, from
// sending to the end of the response body, per method. It is safe for
// concurrent use.
type timing struct {
	base http.RoundTripper

	mu    sync.Mutex
	stats map[string]*reqStat
}

type reqStat struct {
	n     int
	total time.Duration
}

func newTiming() *timing {
	return &timing{base: http.DefaultTransport.(*http.Transport).Clone(), stats: map[string]*reqStat{}}
}

func (t *timing) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		t.add(r.Method, time.Since(start))
		return nil, err
	}
	resp.Body = &timedBody{ReadCloser: resp.Body, done: func() { t.add(r.Method, time.Since(start)) }}
	return resp, nil
}

func (t *timing) add(method string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats[method]
	if s == nil {
		s = &reqStat{}
		t.stats[method] = s
	}
	s.n++
	s.total += d
}

// take returns the statistics so far and starts again.
func (t *timing) take() map[string]reqStat {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]reqStat, len(t.stats))
	for k, s := range t.stats {
		out[k] = *s
	}
	t.stats = map[string]*reqStat{}
	return out
}

// sum adds up the statistics of every method.
func sum(stats map[string]reqStat) reqStat {
	var all reqStat
	for _, s := range stats {
		all.n += s.n
		all.total += s.total
	}
	return all
}

// timedBody calls done once, when the body is read to its end or closed.
type timedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.done)
	}
	return n, err
}

func (b *timedBody) Close() error {
	b.once.Do(b.done)
	return b.ReadCloser.Close()
}
