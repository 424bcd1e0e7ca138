package whisk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// RetryPolicy bounds the retries of one request. Delays grow exponentially
// from BaseDelay up to MaxDelay, each drawn uniformly from [0, bound] ("full
// jitter"). Retries also stop when the request context ends; the error then
// wraps both the context's error and the last failure.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts including the first;
	// 0 means no limit other than the context, 1 disables retries.
	MaxAttempts int
	BaseDelay   time.Duration // bound of the first delay; 0 means 100ms
	MaxDelay    time.Duration // largest bound; 0 means 5s
}

// DefaultRetryPolicy is used when no WithRetry option is given: 4 attempts,
// delays bounded by 200ms, 400ms, 800ms.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second}
}

// NoRetry makes every request a single attempt.
func NoRetry() RetryPolicy { return RetryPolicy{MaxAttempts: 1} }

// safety says which failures of a request may be retried.
type safety int

const (
	// idempotent requests (GET, PUT with overwrite, DELETE, rule status) may
	// be repeated after any transient failure.
	idempotent safety = iota
	// unsafe requests (invoke, fire, create without overwrite) are repeated
	// only when the server certainly did not act: 429, 503, or a connection
	// that was never established.
	unsafe
)

// IsRetryable reports whether err is transient for an idempotent request:
// 429, 5xx except 501, or a transport failure. Action errors (the action ran
// and failed) and cancellations are not.
func IsRetryable(err error) bool { return retryable(err, idempotent) }

// retryable is the one retry classifier of the package.
func retryable(err error, s safety) bool {
	if err == nil {
		return false
	}
	var ae *ActionError
	var pe *PendingError
	if errors.As(err, &ae) || errors.As(err, &pe) {
		return false
	}
	var api *APIError
	if errors.As(err, &api) {
		switch code := api.StatusCode; {
		case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable:
			return true
		case code == http.StatusNotImplemented:
			return false
		case code >= 500:
			return s == idempotent
		default:
			return false
		}
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	// A deadline here is a per-request timeout (http.Client.Timeout); the
	// caller's own context is checked by run before classifying.
	if notSent(err) {
		return true
	}
	return s == idempotent && (transport(err) || errors.Is(err, context.DeadlineExceeded))
}

// notSent reports a failure to establish the connection: the request never
// reached the server.
func notSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// transport reports a network failure after the request may have been sent.
func transport(err error) bool {
	var ue *url.Error
	var re *readError
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &re) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// delay returns the jittered wait before retry number n (0 for the first retry).
func (p RetryPolicy) delay(n int) time.Duration {
	base, maxd := p.BaseDelay, p.MaxDelay
	if base <= 0 {
		base = 100 * time.Millisecond
	}
	if maxd <= 0 {
		maxd = 5 * time.Second
	}
	bound := maxd
	if n < 30 && base<<n > 0 && base<<n < maxd {
		bound = base << n
	}
	return time.Duration(rand.Int64N(int64(bound) + 1))
}

// run calls attempt until it succeeds, fails for good, the attempts are used
// up or ctx ends. Errors are wrapped with op.
func (p RetryPolicy) run(ctx context.Context, op string, s safety, attempt func() (*response, error)) (*response, error) {
	var last error
	for n := 1; ; n++ {
		resp, err := attempt()
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil && (isContextErr(err) || retryable(err, s)) {
			return nil, giveUp(ctx, op, n, last, err)
		}
		if !retryable(err, s) {
			if n == 1 {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			return nil, fmt.Errorf("%s (attempt %d): %w", op, n, err)
		}
		last = err
		if p.MaxAttempts > 0 && n >= p.MaxAttempts {
			return nil, fmt.Errorf("%s: giving up after %d attempts: %w", op, n, err)
		}
		t := time.NewTimer(p.delay(n - 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, giveUp(ctx, op, n, last, nil)
		case <-t.C:
		}
	}
}

// giveUp builds the error for a context that ended: it wraps the context's
// error and the last meaningful failure.
func giveUp(ctx context.Context, op string, n int, last, current error) error {
	if current != nil && !isContextErr(current) {
		last = current
	}
	if last == nil {
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
	return fmt.Errorf("%s: giving up after %d attempts: %w: %w", op, n, ctx.Err(), last)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
