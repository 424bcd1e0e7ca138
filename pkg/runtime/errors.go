package runtime

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ErrPanic is wrapped by the error Serve returns after a handler panicked.
var ErrPanic = errors.New("action panicked")

// Error is an error that carries the HTTP status a web action answers with.
// Non-web results carry only its message: {"error": "..."}.
type Error struct {
	Status  int    // HTTP status, e.g. http.StatusBadRequest
	Message string // optional; says what failed
	Err     error  // optional cause
}

// Errorf returns an *Error with the given status and a message formatted as
// fmt.Errorf does; %w verbs stay reachable by errors.Is and errors.As.
func Errorf(status int, format string, args ...any) error {
	return &Error{Status: status, Err: fmt.Errorf(format, args...)}
}

// Error returns the message, followed by the cause when there is one.
func (e *Error) Error() string {
	switch {
	case e.Message != "" && e.Err != nil:
		return e.Message + ": " + e.Err.Error()
	case e.Message != "":
		return e.Message
	case e.Err != nil:
		return e.Err.Error()
	default:
		return http.StatusText(e.Status)
	}
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus returns the status carried by the error.
func (e *Error) HTTPStatus() int { return e.Status }

// HTTPStatus maps an error to the HTTP status a web action answers with. It
// is the one place where that decision is made:
//
//   - nil: 200
//   - any error in the chain with a method HTTPStatus() int returning a
//     status in 400..599 (such as *Error): that status
//   - context.DeadlineExceeded: 504; context.Canceled: 503
//   - anything else: 500
func HTTPStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var s interface{ HTTPStatus() int }
	if errors.As(err, &s) {
		if code := s.HTTPStatus(); code >= 400 && code <= 599 {
			return code
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}
