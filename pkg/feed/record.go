package feed

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// RecordType is the value of the "type" field of every trigger record.
const RecordType = "trigger"

// recordIDPrefix starts the CouchDB id of every trigger record.
const recordIDPrefix = "trigger:"

// RecordID returns the CouchDB id of the record of trigger namespace/name:
// "trigger:<namespace>/<name>". It never contains the authKey.
func RecordID(namespace, name string) string {
	return recordIDPrefix + namespace + "/" + name
}

// DocMeta holds the CouchDB fields every stored document has. Embed it in a
// document type to use the generic helpers ([GetDoc], [UpdateDoc], …).
// Setting Deleted in an update function deletes the document.
type DocMeta struct {
	ID      string `json:"_id"`
	Rev     string `json:"_rev,omitempty"`
	Deleted bool   `json:"_deleted,omitempty"`
}

// Meta returns m itself; it makes any type embedding DocMeta a [Doc].
func (m *DocMeta) Meta() *DocMeta { return m }

// ReasonKind tells who changed a trigger's status, as the alarms provider does.
type ReasonKind string

// Reason kinds.
const (
	ReasonAuto  ReasonKind = "AUTO"  // the feed itself, after a failure
	ReasonAdmin ReasonKind = "ADMIN" // the provider's operator
	ReasonUser  ReasonKind = "USER"  // the trigger's owner
)

// Reason explains why a trigger was disabled.
type Reason struct {
	Kind       ReasonKind `json:"kind"`
	StatusCode int        `json:"statusCode,omitempty"`
	Message    string     `json:"message,omitempty"`
}

// Status is whether a trigger is active, in the shape READ returns.
type Status struct {
	Active         bool    `json:"active"`
	DateChanged    int64   `json:"dateChanged"` // epoch milliseconds
	DateChangedISO string  `json:"dateChangedISO"`
	Reason         *Reason `json:"reason,omitempty"` // set while inactive
}

// Stats are the counters and last results of a trigger's polls and fires.
type Stats struct {
	LastPollAt          time.Time `json:"last_poll_at,omitzero"`
	LastPollMS          int64     `json:"last_poll_ms,omitempty"` // duration of the last poll
	Objects             int64     `json:"objects"`                // objects in the last complete listing
	Polls               int64     `json:"polls"`
	EventsFired         int64     `json:"events_fired"`
	EventsUnseen        int64     `json:"events_unseen"`            // fires answered 204: no rule enabled
	EventsDeduped       int64     `json:"events_deduped,omitempty"` // not fired: the other path (push or poll) fired them
	Errors              int64     `json:"errors"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	LastError           string    `json:"last_error,omitempty"`
	LastErrorAt         time.Time `json:"last_error_at,omitzero"`
}

// Alarm names the alarm trigger and rule created for a polling trigger, as
// entity names in the provider namespace.
type Alarm struct {
	Trigger string `json:"trigger,omitempty"`
	Rule    string `json:"rule,omitempty"`
}

// Lease marks the trigger as being polled by Holder until Until.
type Lease struct {
	Holder string `json:"holder,omitempty"`
	Until  int64  `json:"until,omitempty"` // epoch milliseconds
}

// Held reports whether the lease is held by someone at now.
func (l Lease) Held(now time.Time) bool {
	return l.Holder != "" && l.Until > now.UnixMilli()
}

// Snapshot is the committed listing of a polling trigger: its chunks, in
// key order, and the generation they were last written under. Chunks of
// older generations are reused by reference when unchanged.
type Snapshot struct {
	Generation int64      `json:"generation"`
	Chunks     []ChunkRef `json:"chunks"`
}

// Record is the CouchDB document kept for one user trigger. It holds no
// secret in clear: Secrets is sealed with the provider's [Keyring].
type Record struct {
	DocMeta
	Type          string          `json:"type"`
	Kind          string          `json:"kind"`
	Namespace     string          `json:"namespace"`
	Name          string          `json:"name"`
	Config        json.RawMessage `json:"config,omitempty"` // source settings, without secrets
	UnknownParams []string        `json:"unknown_params,omitempty"`
	Secrets       Sealed          `json:"secrets,omitzero"`
	Status        Status          `json:"status"`
	Paused        bool            `json:"paused"`
	Stats         Stats           `json:"stats"`
	Alarm         Alarm           `json:"alarm,omitzero"`
	Lease         Lease           `json:"lease,omitzero"`
	Cursor        json.RawMessage `json:"cursor,omitempty"`
	Snapshot      Snapshot        `json:"snapshot,omitzero"`
	Created       time.Time       `json:"created,omitzero"`
	Updated       time.Time       `json:"updated,omitzero"`
}

// NewRecord returns an active record for trigger namespace/name of the given
// source kind, not yet stored.
func NewRecord(kind, namespace, name string) *Record {
	r := &Record{
		DocMeta:   DocMeta{ID: RecordID(namespace, name)},
		Type:      RecordType,
		Kind:      kind,
		Namespace: namespace,
		Name:      name,
	}
	r.Enable()
	return r
}

// validate checks what every stored record must have.
func (r *Record) validate() error {
	switch {
	case r.Namespace == "" || r.Name == "":
		return fmt.Errorf("record %q: namespace and name are required", r.ID)
	case strings.Contains(r.Namespace, "/") || strings.Contains(r.Name, "/"):
		return fmt.Errorf("record %q: namespace and name must not contain '/'", r.ID)
	case r.ID != RecordID(r.Namespace, r.Name):
		return fmt.Errorf("record %q: id must be %q", r.ID, RecordID(r.Namespace, r.Name))
	case r.Type != RecordType:
		return fmt.Errorf("record %q: type must be %q, got %q", r.ID, RecordType, r.Type)
	case r.Kind == "":
		return fmt.Errorf("record %q: kind is required", r.ID)
	}
	return nil
}

// Enable marks the trigger active now and clears the reason.
func (r *Record) Enable() {
	r.Status = Status{Active: true}
	r.Status.stamp(time.Now())
}

// Disable marks the trigger inactive now, for the given reason; code is the
// HTTP status that caused it (0 when none).
func (r *Record) Disable(kind ReasonKind, code int, msg string) {
	r.Status = Status{Reason: &Reason{Kind: kind, StatusCode: code, Message: msg}}
	r.Status.stamp(time.Now())
}

func (s *Status) stamp(now time.Time) {
	s.DateChanged = now.UnixMilli()
	s.DateChangedISO = now.UTC().Format("2006-01-02T15:04:05.000Z")
}

// SealSecrets encrypts secrets with kr into r.Secrets, bound to r's id.
func (r *Record) SealSecrets(kr *Keyring, secrets map[string]string) error {
	s, err := kr.Seal(r.ID, secrets)
	if err != nil {
		return err
	}
	r.Secrets = s
	return nil
}

// OpenSecrets decrypts r.Secrets with kr. A record without secrets gives an
// empty map.
func (r *Record) OpenSecrets(kr *Keyring) (map[string]string, error) {
	return kr.Open(r.ID, r.Secrets)
}
