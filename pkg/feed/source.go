package feed

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
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

// PollScheduler is implemented by pollers whose triggers are polled only
// when their settings ask for it, on a schedule read from their own
// parameters: a push source with an optional reconcile poll. PollSchedule
// returns the schedule of t, and false when t is not polled (no alarm, no
// baseline). Pollers without it are always polled, on the toolkit's interval
// or cron parameters.
type PollScheduler interface {
	PollSchedule(t *Trigger) (Schedule, bool)
}

// Deduper is implemented by sources whose triggers can get one change twice:
// pushed (a delivery to the webhook) and polled (a reconcile poll, see
// PollScheduler). For a trigger that is both, the toolkit keeps, in one
// bounded CouchDB document, the changes each path fired that the other has
// not reported yet: a poll skips a change a delivery fired, and a delivery
// skips a change a poll fired when the change happened before that poll
// began (a late delivery). Dedup names the change e reports, the same key
// whichever path reported it, and when it happened according to the event
// source (zero when unknown). An empty key is never suppressed. Events are
// recorded after they are fired, so duplicates remain possible; gaps do
// not.
type Deduper interface {
	Dedup(e Event) (key string, at time.Time)
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
