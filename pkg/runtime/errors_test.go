package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

// statusError is another package's error type that knows its status.
type statusError struct{ code int }

func (e statusError) Error() string   { return fmt.Sprintf("status %d", e.code) }
func (e statusError) HTTPStatus() int { return e.code }

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, http.StatusOK},
		{"plain", errors.New("x"), http.StatusInternalServerError},
		{"runtime error", runtime.Errorf(http.StatusBadRequest, "bad %s", "bucket"), http.StatusBadRequest},
		{"wrapped runtime error", fmt.Errorf("create: %w", &runtime.Error{Status: http.StatusNotFound}), http.StatusNotFound},
		{"outermost status wins", runtime.Errorf(http.StatusBadGateway, "list: %w", runtime.Errorf(http.StatusNotFound, "gone")), http.StatusBadGateway},
		{"foreign status type", fmt.Errorf("fire: %w", statusError{http.StatusTooManyRequests}), http.StatusTooManyRequests},
		{"status out of range ignored", statusError{200}, http.StatusInternalServerError},
		{"deadline", fmt.Errorf("poll: %w", context.DeadlineExceeded), http.StatusGatewayTimeout},
		{"canceled", fmt.Errorf("poll: %w", context.Canceled), http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, runtime.HTTPStatus(tc.err))
		})
	}
}

func TestError(t *testing.T) {
	err := runtime.Errorf(http.StatusBadRequest, "read config %q: %w", "c.json", fs.ErrNotExist)
	require.ErrorIs(t, err, fs.ErrNotExist, "%w stays reachable")
	var rerr *runtime.Error
	require.ErrorAs(t, err, &rerr)
	assert.Equal(t, http.StatusBadRequest, rerr.Status)
	assert.Equal(t, `read config "c.json": file does not exist`, err.Error())

	tests := []struct {
		name string
		err  *runtime.Error
		want string
	}{
		{"message and cause", &runtime.Error{Status: 502, Message: "list bucket", Err: errors.New("timeout")}, "list bucket: timeout"},
		{"message only", &runtime.Error{Status: 400, Message: "bad interval"}, "bad interval"},
		{"status only", &runtime.Error{Status: 404}, "Not Found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.err.Error())
		})
	}
}
