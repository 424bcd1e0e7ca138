package feed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// RefusedError is a fire the platform refused for good (401, 403, 404 and
// other 4xx except 408, 409 and 429): the feed is disabled, as the
// platform's own providers do.
type RefusedError struct {
	StatusCode int
	Err        error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("trigger refused the fire (%d): %v", e.StatusCode, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// PendingError is a fire that still failed after every retry (429, 5xx,
// network errors, or the deadline): its events stay pending for the next
// poll or delivery.
type PendingError struct {
	Attempts int
	Err      error
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("fire still failing after %d attempts: %v", e.Attempts, e.Err)
}

func (e *PendingError) Unwrap() error { return e.Err }

// permanent reports whether a fire answered with status must disable the feed.
func permanent(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return false
	}
	return status >= 400 && status < 500
}

// Firer fires one user trigger with the owner's key, retrying what may
// succeed later. It is the one place where fires happen.
type Firer struct {
	client   *whisk.Client
	via      func(ctx context.Context, payload any) (unseen bool, err error)
	trigger  whisk.QName
	attempts int
	base     time.Duration
	max      time.Duration

	// Fired counts events accepted with an activation; Unseen counts events
	// of fires answered 204 (accepted, but no rule was enabled to see them).
	Fired, Unseen int64
}

// FirerOption configures a Firer.
type FirerOption func(*Firer)

// WithFireRetry sets how many attempts a fire gets and the backoff bounds
// (full jitter). Defaults: 8 attempts, 250 ms, 8 s.
func WithFireRetry(attempts int, base, max time.Duration) FirerOption {
	return func(f *Firer) { f.attempts, f.base, f.max = attempts, base, max }
}

// NewFirer returns a Firer for trigger namespace/name on apiHost, firing
// with authKey (the trigger owner's "uuid:key").
func NewFirer(apiHost, authKey, namespace, name string, opts ...FirerOption) (*Firer, error) {
	c, err := whisk.New(apiHost, authKey, whisk.WithRetry(whisk.NoRetry()), whisk.WithNamespace(namespace))
	if err != nil {
		return nil, fmt.Errorf("fire trigger %s/%s: %w", namespace, name, err)
	}
	f := &Firer{client: c, trigger: whisk.QName{Namespace: namespace, Name: name}, attempts: 8, base: 250 * time.Millisecond, max: 8 * time.Second}
	for _, o := range opts {
		o(f)
	}
	return f, nil
}

// Fire fires payload. It returns nil once the platform accepted it (202, or
// 204 when no rule is enabled), a *RefusedError when it never will, and a
// *PendingError when it did not within the attempts or ctx.
func (f *Firer) Fire(ctx context.Context, payload any) error {
	return f.Deliver(ctx, payload, 1)
}

// Deliver is Fire for a payload that carries events events (a batch); the
// counters count events, not fires.
func (f *Firer) Deliver(ctx context.Context, payload any, events int) error {
	var last error
	for n := 1; ; n++ {
		var unseen bool
		var err error
		if f.via != nil {
			unseen, err = f.via(ctx, payload)
		} else {
			var id string
			id, err = f.client.FireTrigger(ctx, f.trigger, payload)
			unseen = id == ""
		}
		if err == nil {
			if unseen {
				f.Unseen += int64(events)
			} else {
				f.Fired += int64(events)
			}
			return nil
		}
		last = err
		if status := whisk.HTTPStatus(err); permanent(status) {
			return &RefusedError{StatusCode: status, Err: err}
		}
		if n >= f.attempts || ctx.Err() != nil {
			return &PendingError{Attempts: n, Err: last}
		}
		d := f.base << min(n-1, 16)
		if d > f.max || d <= 0 {
			d = f.max
		}
		d = time.Duration(rand.Int64N(int64(d)) + 1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return &PendingError{Attempts: n, Err: errors.Join(last, ctx.Err())}
		case <-t.C:
		}
	}
}
