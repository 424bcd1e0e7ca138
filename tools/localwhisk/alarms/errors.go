package alarms

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrNoServer is returned by Register without a server.
var ErrNoServer = errors.New("no server")

// lifecycleError is a failed lifecycle request. Upstream's web action answers
// it with an HTTP status and {"error": msg[, "message": detail]}, which the
// feed action returns as its result; the status itself is not visible to
// the feed's caller, who sees an application error (502).
type lifecycleError struct {
	status int
	msg    string
	detail string
}

func (e *lifecycleError) Error() string {
	if e.detail != "" {
		return e.msg + ": " + e.detail
	}
	return e.msg
}

// result is the feed action's answer for e.
func (e *lifecycleError) result() map[string]any {
	r := map[string]any{"error": e.msg}
	if e.detail != "" {
		r["message"] = e.detail
	}
	return r
}

func badRequest(format string, args ...any) *lifecycleError {
	return &lifecycleError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// Upstream's messages that are used in more than one place.
const (
	msgAuthFailed      = "Trigger authentication request failed."
	msgUnsupported     = "unsupported lifecycleEvent"
	msgNoTriggerName   = "no trigger name parameter was provided"
	msgNothingToUpdate = "no updatable parameters were specified"
	msgInvalidTimezone = "Invalid timezone."
	msgBadDeleteAfter  = "deleteAfterFire parameter must be one of [false, true, rules]."
)

func notInDatabase(ns, name string) *lifecycleError {
	return &lifecycleError{status: http.StatusNotFound, msg: fmt.Sprintf("could not find trigger /%s/%s in the database", ns, name)}
}
