package feed

import (
	"context"
	"encoding/json"
	"fmt"
)

// Source is an event source: it names itself and reads its parameters.
// A source never talks to CouchDB or OpenWhisk; the toolkit does.
type Source interface {
	// Kind names the source in records, logs and READ, e.g. "s3-changes".
	Kind() string
	// Configure reads the source's parameters from p (secrets with p.Secret)
	// and returns its settings: a JSON-encodable value, stored in the
	// record and shown by READ, that holds no secret. It does no I/O; errors
	// are reported through p (or returned, wrapping ErrInvalidParams).
	Configure(p *Params) (any, error)
}

// Validator is implemented by sources that check, during CREATE and UPDATE,
// that the event source is reachable with the given settings and secrets
// (for S3: that the bucket can be listed with the credentials).
type Validator interface {
	Validate(ctx context.Context, t *Trigger) error
}

// Poller is a source that is polled on a schedule. Poll lists what changed
// since the cursor the session holds, emits events and commits the new
// cursor; the toolkit fires the emitted events before it stores the cursor.
type Poller interface {
	Source
	Poll(ctx context.Context, s *Session) error
}

// Baseliner is implemented by pollers that record a starting state during
// CREATE, so that what exists before CREATE is not announced.
type Baseliner interface {
	Baseline(ctx context.Context, s *Session) error
}

// Filterer is implemented by sources whose triggers select events: Match
// reports whether event e is wanted by trigger t.
type Filterer interface {
	Match(t *Trigger, e Event) bool
}

// Batcher is implemented by sources that wrap several events into one fire
// payload; the default payload is {"events": [...]}.
type Batcher interface {
	Batch(t *Trigger, events []Event) any
}

// Event is one change to deliver to a trigger.
type Event struct {
	// ID is a stable identifier: the same change always has the same ID, so
	// consumers can drop duplicates.
	ID string
	// Data is the fire payload of the event, a JSON-encodable object.
	Data any
}

// MarshalJSON encodes the event as its payload.
func (e Event) MarshalJSON() ([]byte, error) { return json.Marshal(e.Data) }

// Trigger is a user's trigger as a source sees it: its name, its settings and
// its secrets.
type Trigger struct {
	Namespace string
	Name      string
	Kind      string
	settings  json.RawMessage
	secrets   map[string]string
}

// NewTrigger builds a Trigger; tests and tools use it to drive a source.
func NewTrigger(namespace, name, kind string, settings any, secrets map[string]string) (*Trigger, error) {
	raw, err := json.Marshal(settings)
	if err != nil {
		return nil, fmt.Errorf("encode settings of %s/%s: %w", namespace, name, err)
	}
	return &Trigger{Namespace: namespace, Name: name, Kind: kind, settings: raw, secrets: secrets}, nil
}

// Settings decodes the settings returned by the source's Configure into v.
func (t *Trigger) Settings(v any) error {
	if err := json.Unmarshal(t.settings, v); err != nil {
		return fmt.Errorf("decode settings of %s: %w", t, err)
	}
	return nil
}

// Secret returns the secret parameter name, "" when it was not given.
func (t *Trigger) Secret(name string) string { return t.secrets[name] }

// String returns "namespace/name".
func (t *Trigger) String() string { return t.Namespace + "/" + t.Name }
