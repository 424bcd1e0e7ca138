package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// ParamURL is the action parameter naming the Collector's URL.
const ParamURL = "recorder_url"

// Arrival is one activation of the user action.
type Arrival struct {
	// Started is when the action's handler began, in Unix nanoseconds of the
	// machine's clock (the bench runs on the same machine).
	Started int64 `json:"started_ns"`
	// Keys are the object keys of the events the activation received: one
	// for a single event, several for a batch.
	Keys []string `json:"keys"`
}

// payload is what a fire delivers: one event {"key": …} or a batch
// {"events": [{"key": …}, …]}, plus the bound recorder_url.
type payload struct {
	URL    string `json:"recorder_url"`
	Key    string `json:"key"`
	Events []struct {
		Key string `json:"key"`
	} `json:"events"`
}

var client = &http.Client{Timeout: 10 * time.Second}

// Report notes the time, reads the event keys of params and POSTs an
// Arrival to the recorder_url of params. It answers how many events it saw.
func Report(ctx context.Context, params json.RawMessage) (any, error) {
	started := time.Now().UnixNano()
	var p payload
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, fmt.Errorf("decode parameters: %w", err)
	}
	if p.URL == "" {
		return nil, fmt.Errorf("parameter %q: expected the URL of the bench's collector", ParamURL)
	}
	a := Arrival{Started: started}
	if p.Key != "" {
		a.Keys = append(a.Keys, p.Key)
	}
	for _, e := range p.Events {
		a.Keys = append(a.Keys, e.Key)
	}
	body, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode arrival: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("report arrival: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("report arrival: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return nil, fmt.Errorf("report arrival: collector answered %s", resp.Status)
	}
	return map[string]int{"events": len(a.Keys)}, nil
}

// Collector gathers Arrivals POSTed to it. It is safe for concurrent use.
type Collector struct {
	mu      sync.Mutex
	started map[string]time.Time // first start per key
	events  int
	last    time.Time
	changed chan struct{} // closed and replaced at each arrival
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{started: map[string]time.Time{}, changed: make(chan struct{})}
}

// ServeHTTP takes one Arrival and answers 204.
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an arrival", http.StatusMethodNotAllowed)
		return
	}
	var a Arrival
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&a); err != nil {
		http.Error(w, "decode arrival: "+err.Error(), http.StatusBadRequest)
		return
	}
	c.Add(a)
	w.WriteHeader(http.StatusNoContent)
}

// Add records a.
func (c *Collector) Add(a Arrival) {
	t := time.Unix(0, a.Started)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range a.Keys {
		if _, seen := c.started[k]; !seen {
			c.started[k] = t
		}
	}
	c.events += len(a.Keys)
	if t.After(c.last) {
		c.last = t
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// Reset forgets every arrival.
func (c *Collector) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started = map[string]time.Time{}
	c.events = 0
	c.last = time.Time{}
}

// ErrTimeout is returned when what was awaited did not arrive in time.
var ErrTimeout = errors.New("not arrived in time")

// WaitKey waits at most timeout for an event with key and returns when
// the action that received it started.
func (c *Collector) WaitKey(ctx context.Context, key string, timeout time.Duration) (time.Time, error) {
	return c.wait(ctx, timeout, func() (time.Time, bool) {
		t, ok := c.started[key]
		return t, ok
	})
}

// WaitEvents waits at most timeout until n events arrived in all, and
// returns the start of the latest activation. On timeout it also returns
// how many arrived.
func (c *Collector) WaitEvents(ctx context.Context, n int, timeout time.Duration) (time.Time, int, error) {
	t, err := c.wait(ctx, timeout, func() (time.Time, bool) { return c.last, c.events >= n })
	c.mu.Lock()
	got := c.events
	c.mu.Unlock()
	return t, got, err
}

func (c *Collector) wait(ctx context.Context, timeout time.Duration, done func() (time.Time, bool)) (time.Time, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		t, ok := done()
		ch := c.changed
		c.mu.Unlock()
		if ok {
			return t, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return time.Time{}, ErrTimeout
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}
