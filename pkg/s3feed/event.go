package s3feed

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// The sources of an event, as they appear in Event.Source.
const (
	SourcePoll         = "poll"
	SourceNotification = "notification"
)

// Event is the payload fired at a user's trigger for one change.
type Event struct {
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Status  Status `json:"status"`
	File    Object `json:"file"`
	EventID string `json:"event_id"`
	Source  string `json:"source"`
}

// Batch is the payload of one fire carrying several events (batch_size > 1).
type Batch struct {
	Bucket string  `json:"bucket"`
	Events []Event `json:"events"`
}

// NewEvent returns the event announcing c in bucket, with source SourcePoll or
// SourceNotification.
func NewEvent(bucket string, c Change, source string) Event {
	return Event{
		Bucket:  bucket,
		Key:     c.Object.Key,
		Status:  c.Status,
		File:    c.Object,
		EventID: EventID(bucket, c.Object.Key, c.Object.ETag, c.Status),
		Source:  source,
	}
}

// EventID returns the stable identifier of an event: the first 16 bytes of the
// SHA-256 of bucket, key, etag and status, each preceded by its length as an
// unsigned varint (so no two field lists collide), as 32 lowercase hex digits.
// The same change seen twice (a poll repeated after a crash, or the same
// change seen by polling and by a notification) gets the same identifier, so
// consumers can drop duplicates; a deletion has the identifier of neither the
// addition nor a later re-creation with another ETag.
func EventID(bucket, key, etag string, status Status) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, f := range [...]string{bucket, key, etag, string(status)} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// StatusSet is a set of statuses. The empty set selects every status.
type StatusSet uint8

const (
	setAdded StatusSet = 1 << iota
	setModified
	setDeleted
)

func statusBit(s Status) StatusSet {
	switch s {
	case StatusAdded:
		return setAdded
	case StatusModified:
		return setModified
	case StatusDeleted:
		return setDeleted
	}
	return 0
}

// Has reports whether s selects status; the empty set selects every status.
func (s StatusSet) Has(status Status) bool {
	return s == 0 || s&statusBit(status) != 0
}

// String returns the set in the form ParseEvents reads, "" for the empty set.
func (s StatusSet) String() string {
	var parts []string
	for _, st := range [...]Status{StatusAdded, StatusModified, StatusDeleted} {
		if s&statusBit(st) != 0 {
			parts = append(parts, string(st))
		}
	}
	return strings.Join(parts, ",")
}

// ParseEvents reads the "events" parameter: a comma-separated subset of added,
// modified and deleted (spaces allowed, case-insensitive). An empty value
// selects every status.
func ParseEvents(v string) (StatusSet, error) {
	var set StatusSet
	if strings.TrimSpace(v) == "" {
		return 0, nil
	}
	for part := range strings.SplitSeq(v, ",") {
		st := Status(strings.ToLower(strings.TrimSpace(part)))
		bit := statusBit(st)
		if bit == 0 {
			return 0, fmt.Errorf("parse parameter events %q: %q is not one of added, modified, deleted", v, part)
		}
		set |= bit
	}
	return set, nil
}

// Filter selects the changes a trigger is told about. The zero Filter selects
// every change.
type Filter struct {
	// Prefix and Suffix, when set, must begin and end the key.
	Prefix, Suffix string
	// Events selects statuses; empty selects all.
	Events StatusSet
}

// Match reports whether a change of key with status passes the filter.
func (f Filter) Match(key string, status Status) bool {
	return f.Events.Has(status) && strings.HasPrefix(key, f.Prefix) && strings.HasSuffix(key, f.Suffix)
}
