package whisk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrNotFeedTrigger is returned by ReadFeed and UpdateFeed for a trigger
// without a "feed" annotation.
var ErrNotFeedTrigger = errors.New("trigger has no feed annotation")

// APIError is an error answered by the OpenWhisk API: a non-2xx status with a
// body {"error": message, "code": transaction id}. Non-2xx answers without a
// JSON error body (from a proxy, say) are APIErrors too, with an empty Code.
type APIError struct {
	StatusCode int
	Code       string // the transaction id, when the server gave one
	Message    string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%d %s", e.StatusCode, strings.ToLower(http.StatusText(e.StatusCode)))
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Code != "" {
		s += " (code " + e.Code + ")"
	}
	return s
}

// HTTPStatus returns the response status.
func (e *APIError) HTTPStatus() int { return e.StatusCode }

// ActionError is an invocation whose action ran and failed (application
// error, developer error, or a whisk internal error reported as an
// activation): a non-2xx invoke response whose body has no "code". It is
// never retried.
type ActionError struct {
	StatusCode   int             // usually 502, 500 for whisk internal errors
	ActivationID string          // from the body or the x-openwhisk-activation-id header
	Status       string          // response.status, e.g. "application error" (empty for result-only bodies)
	Result       json.RawMessage // the action's result, e.g. {"error": ...}
	Activation   *Activation     // the full activation, when the body was one
}

func (e *ActionError) Error() string {
	status := e.Status
	if status == "" {
		status = "application error"
	}
	s := fmt.Sprintf("%d %s", e.StatusCode, status)
	if e.ActivationID != "" {
		s += " in activation " + e.ActivationID
	}
	if m := e.Message(); m != "" {
		s += ": " + m
	}
	return s
}

// HTTPStatus returns the response status.
func (e *ActionError) HTTPStatus() int { return e.StatusCode }

// Message returns the "error" field of the result: the string itself, or its
// compact JSON when it is not a string.
func (e *ActionError) Message() string {
	var r struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(e.Result, &r) != nil || len(r.Error) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(r.Error, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, r.Error) != nil {
		return string(r.Error)
	}
	return buf.String()
}

// PendingError is a blocking invocation that did not finish within the
// server's wait (202): the action may still be running as ActivationID.
type PendingError struct {
	ActivationID string
}

func (e *PendingError) Error() string {
	return "activation " + e.ActivationID + " still running after the blocking wait"
}

// HTTPStatus returns 202.
func (e *PendingError) HTTPStatus() int { return http.StatusAccepted }

// HTTPStatus returns the HTTP status carried by err (an *APIError,
// *ActionError or *PendingError anywhere in its chain), or 0.
func HTTPStatus(err error) int {
	var s interface{ HTTPStatus() int }
	if errors.As(err, &s) {
		return s.HTTPStatus()
	}
	return 0
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool { return HTTPStatus(err) == http.StatusNotFound }

// IsConflict reports whether err is a 409 answer (already exists, or a
// concurrent modification).
func IsConflict(err error) bool { return HTTPStatus(err) == http.StatusConflict }

// decodeError turns a non-2xx response into an *APIError or, for invocations
// without a "code" in the body, an *ActionError.
func decodeError(status int, h http.Header, body []byte, invoke bool) error {
	var eb struct {
		Error json.RawMessage `json:"error"`
		Code  json.RawMessage `json:"code"`
	}
	isObject := json.Unmarshal(body, &eb) == nil && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))
	if isObject && hasValue(eb.Code) {
		return &APIError{StatusCode: status, Code: rawText(eb.Code), Message: rawText(eb.Error)}
	}
	if isObject && invoke {
		return actionError(status, h, body)
	}
	e := &APIError{StatusCode: status}
	switch {
	case isObject && hasValue(eb.Error):
		e.Message = rawText(eb.Error)
	default:
		e.Message = truncate(strings.TrimSpace(string(body)), 300)
	}
	return e
}

func actionError(status int, h http.Header, body []byte) *ActionError {
	e := &ActionError{StatusCode: status, ActivationID: h.Get(activationIDHeader)}
	var probe map[string]json.RawMessage
	_ = json.Unmarshal(body, &probe)
	_, hasID := probe["activationId"]
	_, hasResp := probe["response"]
	if hasID || hasResp {
		var a Activation
		if json.Unmarshal(body, &a) == nil {
			e.Activation = &a
			e.Status = a.Response.Status
			e.Result = a.Response.Result
			if a.ActivationID != "" {
				e.ActivationID = a.ActivationID
			}
			return e
		}
	}
	e.Result = json.RawMessage(body)
	return e
}

func hasValue(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// rawText renders a JSON value: strings unquoted, anything else compact JSON.
func rawText(raw json.RawMessage) string {
	if !hasValue(raw) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
