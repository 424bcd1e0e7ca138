package whisk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRetryClassifier(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	reset := &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}
	timeout := &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded}
	api := func(code int) error { return fmt.Errorf("op: %w", &APIError{StatusCode: code}) }
	tests := []struct {
		name          string
		err           error
		idem, nonIdem bool
	}{
		{"429", api(429), true, true},
		{"503", api(503), true, true},
		{"500", api(500), true, false},
		{"502 api", api(502), true, false},
		{"504", api(504), true, false},
		{"501", api(501), false, false},
		{"400", api(400), false, false},
		{"401", api(401), false, false},
		{"404", api(404), false, false},
		{"408", api(408), false, false},
		{"409", api(409), false, false},
		{"action error", &ActionError{StatusCode: 502}, false, false},
		{"whisk internal action error", &ActionError{StatusCode: 500}, false, false},
		{"pending", &PendingError{ActivationID: "x"}, false, false},
		{"connection refused", refused, true, true},
		{"dns", &url.Error{Op: "Get", URL: "http://x", Err: &net.DNSError{Err: "no such host", Name: "x"}}, true, true},
		{"connection reset", reset, true, false},
		{"request timeout", timeout, true, false},
		{"body read", &readError{err: errors.New("unexpected EOF")}, true, false},
		{"canceled", &url.Error{Op: "Get", URL: "http://x", Err: context.Canceled}, false, false},
		{"other", errors.New("encode request"), false, false},
		{"nil", nil, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.idem, retryable(tc.err, idempotent), "idempotent")
			assert.Equal(t, tc.nonIdem, retryable(tc.err, unsafe), "non-idempotent")
		})
	}
	assert.True(t, IsRetryable(api(http.StatusServiceUnavailable)))
}

func TestRetryDelayIsBounded(t *testing.T) {
	p := RetryPolicy{BaseDelay: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond}
	bounds := []time.Duration{10, 20, 40, 80, 100, 100}
	for n, b := range bounds {
		for range 200 {
			d := p.delay(n)
			assert.GreaterOrEqual(t, d, time.Duration(0))
			assert.LessOrEqual(t, d, b*time.Millisecond, "retry %d", n)
		}
	}
	assert.LessOrEqual(t, p.delay(200), 100*time.Millisecond, "no overflow for large n")
}
