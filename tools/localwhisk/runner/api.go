package runner

import (
	"encoding/json"
	"time"
)

// Spec describes one version of an action. Two specs with the same Key must
// describe the same code: the pool unpacks a Key once and reuses its processes.
type Spec struct {
	Key     string            // unique per action version, e.g. "guest/pkg/a@0.0.3"
	Code    []byte            // the zip (already base64-decoded) holding exec and exec.env
	Env     map[string]string // init parameters (parameters marked init), exported to the process
	Timeout time.Duration     // per-activation time limit (platform default 60s)
	Memory  int               // MB, informational
	LogMax  int               // bytes of logs kept per activation, 0 = 10 MB
	// Kind is the runtime kind, e.g. "go:1.22" (optional). When it names a Go
	// version and the zip holds exec.env, the two must agree, as in the real
	// image; it also sets __OW_EXECUTION_ENV when the zip has no exec.env.
	Kind string
}

// Activation is one run of an action.
type Activation struct {
	Value         json.RawMessage // the parameters object
	ActionName    string          // fully qualified: /ns/pkg/name
	ActionVersion string
	Namespace     string // namespace of the invoker
	ActivationID  string
	TransactionID string
	APIHost       string
	APIKey        string // empty unless the action is annotated provide-api-key
	Deadline      time.Time
}

// Status is the outcome class of an activation, as OpenWhisk reports it.
type Status string

// Outcome classes.
const (
	Success          Status = "success"
	ApplicationError Status = "application error"
	DeveloperError   Status = "action developer error"
	InternalError    Status = "whisk internal error"
)

// Result is what one activation produced.
type Result struct {
	Status   Status
	Response json.RawMessage // result object or array; for failures {"error": "..."}
	Logs     []string        // "<RFC3339Nano padded> stdout: text", sentinel lines removed
	Start    time.Time
	End      time.Time
	InitTime time.Duration // non-zero when a new process was started for this activation
	TimedOut bool
}
