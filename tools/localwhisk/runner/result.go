package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Platform limits and defaults (OpenWhisk application.conf).
const (
	// MaxResultSize is the largest action result accepted, in bytes.
	MaxResultSize = 1048576
	// DefaultTimeout applies when Spec.Timeout is zero.
	DefaultTimeout = 60 * time.Second
	// DefaultLogMax applies when Spec.LogMax is zero.
	DefaultLogMax = 10 * 1024 * 1024
)

// Sentinel is the line that closes one activation's output on stdout and
// stderr. The runner writes it itself after each result; lines equal to it
// never reach Result.Logs.
const Sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

// Messages the platform reports, worded as OpenWhisk words them.
const (
	msgCannotStart    = "Cannot start action. Check logs for details."
	msgNotDictionary  = "The action did not return a dictionary or array."
	msgExited         = "The action did not produce a valid response and exited unexpectedly."
	msgDevErrorLogs   = "The action did not initialize or run as expected. Log data might be missing."
	msgLogFailure     = "There was an issue while collecting your logs. Data might be missing."
	msgInitExited     = "Command exited abruptly during initialization."
	msgRunnerClosed   = "The action runner is shutting down."
	msgActivationStop = "The activation was aborted by the platform"
)

func msgTimeout(limit time.Duration, init bool) string {
	m := fmt.Sprintf("The action exceeded its time limits of %d milliseconds", limit.Milliseconds())
	if init {
		return m + " during initialization."
	}
	return m + "."
}

func msgTooLarge(size int) string {
	return fmt.Sprintf("The action produced a response that exceeded the allowed length: %d > %d bytes.", size, MaxResultSize)
}

func msgLogsTruncated(limit int) string {
	return fmt.Sprintf("Logs were truncated because the total bytes size exceeds the limit of %d bytes.", limit)
}

// errorResponse is the {"error": msg} body of every failure.
func errorResponse(msg string) json.RawMessage {
	b, err := json.Marshal(map[string]string{"error": msg})
	if err != nil { // cannot happen for a string map
		return json.RawMessage(`{"error":"internal error"}`)
	}
	return b
}

// classify turns the line the action wrote on fd 3 into an outcome, as the
// proxy and the invoker do together: the result must be a JSON object or
// array; an object with a top-level "error" field is an application error
// whose response keeps only that field.
func classify(line resultLine) (Status, json.RawMessage) {
	if line.size > MaxResultSize {
		return DeveloperError, errorResponse(msgTooLarge(line.size))
	}
	b := bytes.TrimSpace(line.data)
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') || !json.Valid(b) {
		return DeveloperError, errorResponse(msgNotDictionary)
	}
	if b[0] == '{' {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			return DeveloperError, errorResponse(msgNotDictionary)
		}
		if e, ok := fields["error"]; ok {
			out, err := json.Marshal(map[string]json.RawMessage{"error": e})
			if err != nil {
				return DeveloperError, errorResponse(msgNotDictionary)
			}
			return ApplicationError, out
		}
	}
	return Success, bytes.Clone(b)
}

// formatLog renders one log line as the platform does: the timestamp padded
// to 30 characters, the stream name, and the text trimmed like Java's
// String.trim (every character up to U+0020 at both ends).
func formatLog(t time.Time, stream, text string) string {
	text = strings.TrimFunc(text, func(r rune) bool { return r <= ' ' })
	return fmt.Sprintf("%-30s %s: %s", t.UTC().Format(time.RFC3339Nano), stream, text)
}
