package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// Activation is the metadata of one activation, as the platform hands it to
// the action next to its parameters.
//
// APIKey is the invoking identity's key ("uuid:secret"); it is empty unless
// the action is annotated provide-api-key. String, GoString, LogValue and
// MarshalJSON all redact it, so an Activation can be printed or logged safely.
type Activation struct {
	ActionName    string // fully qualified: /namespace/package/action
	ActionVersion string
	Namespace     string // the invoking namespace
	ActivationID  string
	TransactionID string
	APIHost       string
	APIKey        string
	Deadline      time.Time // zero when the platform gave none
}

// redacted replaces secrets in logs and printed values.
const redacted = "[REDACTED]"

// activationFields is Activation without methods, for printing.
type activationFields Activation

func (a Activation) safe() activationFields {
	if a.APIKey != "" {
		a.APIKey = redacted
	}
	return activationFields(a)
}

// String formats the activation with APIKey redacted.
func (a Activation) String() string { return fmt.Sprintf("%+v", a.safe()) }

// GoString formats the activation for %#v with APIKey redacted.
func (a Activation) GoString() string {
	return "runtime.Activation" + strings.TrimPrefix(fmt.Sprintf("%#v", a.safe()), "runtime.activationFields")
}

// LogValue groups the activation's fields for log/slog with APIKey redacted.
func (a Activation) LogValue() slog.Value {
	s := a.safe()
	attrs := []slog.Attr{
		slog.String("action", s.ActionName),
		slog.String("action_version", s.ActionVersion),
		slog.String("namespace", s.Namespace),
		slog.String("activation_id", s.ActivationID),
		slog.String("transaction_id", s.TransactionID),
		slog.String("api_host", s.APIHost),
		slog.String("api_key", s.APIKey),
	}
	if !s.Deadline.IsZero() {
		attrs = append(attrs, slog.Time("deadline", s.Deadline))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON encodes the activation with APIKey redacted.
func (a Activation) MarshalJSON() ([]byte, error) {
	return json.Marshal(a.safe())
}

type activationKey struct{}

// ActivationFrom returns the metadata of the activation that ctx belongs to;
// ok is false outside an activation.
func ActivationFrom(ctx context.Context) (Activation, bool) {
	a, ok := ctx.Value(activationKey{}).(Activation)
	return a, ok
}

// WithActivation returns a context carrying a's metadata, as Serve gives
// each handler call. Tests and tools use it to call a Handler directly, in
// process, as the platform would.
func WithActivation(ctx context.Context, a Activation) context.Context {
	return context.WithValue(ctx, activationKey{}, a)
}

// input is one activation line: the parameters, the metadata fields and, for
// the environment, every top-level string field.
type input struct {
	params json.RawMessage
	act    Activation
	env    map[string]string // __OW_<KEY> -> value
}

// decodeInput parses one line of the actionloop protocol. As the standard
// launcher does, every top-level string field except value becomes an
// environment variable __OW_<UPPERCASED KEY>.
func decodeInput(line []byte) (input, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		return input{}, fmt.Errorf("decode activation input: %w", err)
	}
	if fields == nil {
		return input{}, fmt.Errorf("decode activation input: expected a JSON object, got null")
	}
	in := input{params: fields["value"], env: make(map[string]string, len(fields))}
	if isNull(in.params) {
		in.params = json.RawMessage(`{}`)
	}
	for k, raw := range fields {
		if k == "value" {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			in.env["__OW_"+strings.ToUpper(k)] = s
		}
	}
	in.act = Activation{
		ActionName:    in.env["__OW_ACTION_NAME"],
		ActionVersion: in.env["__OW_ACTION_VERSION"],
		Namespace:     in.env["__OW_NAMESPACE"],
		ActivationID:  in.env["__OW_ACTIVATION_ID"],
		TransactionID: in.env["__OW_TRANSACTION_ID"],
		APIHost:       in.env["__OW_API_HOST"],
		APIKey:        in.env["__OW_API_KEY"],
	}
	if raw, ok := fields["deadline"]; ok && !isNull(raw) {
		d, err := parseDeadline(raw)
		if err != nil {
			return input{}, fmt.Errorf("decode activation input: %w", err)
		}
		in.act.Deadline = d
		in.env["__OW_DEADLINE"] = strconv.FormatInt(d.UnixMilli(), 10)
	}
	return in, nil
}

// parseDeadline reads epoch milliseconds, sent as a string (as the invoker
// does) or as a number.
func parseDeadline(raw json.RawMessage) (time.Time, error) {
	s := string(bytes.TrimSpace(raw))
	if unq, err := strconv.Unquote(s); err == nil {
		s = unq
	}
	if s == "" {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("deadline %s: expected epoch milliseconds", raw)
	}
	return time.UnixMilli(ms), nil
}

// setEnv exports the activation's __OW_* variables, refreshing those of the
// previous activation. Variables the line does not carry are left alone, as
// the standard launcher leaves them.
func setEnv(env map[string]string) {
	for k, v := range env {
		_ = os.Setenv(k, v) // fails only for keys with '=' or NUL, which no platform field has
	}
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}
