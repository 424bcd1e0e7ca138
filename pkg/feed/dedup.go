package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"time"
)

// Duplicate suppression between the two paths of a push source with a
// reconcile poll (a Subscriber that is also a Poller and a Deduper).
//
// Each such trigger has one document listing what each path fired and the
// other has not seen yet:
//
//   - pushed: changes a delivery fired, with the time the event source gives
//     them. A poll that reports one of them skips it and forgets it. At the end
//     of a successful poll, entries older than the poll's start are
//     forgotten: the poll listed the state after them, so they were matched
//     or superseded.
//   - polled: changes a poll fired, with the time the poll began. A delivery
//     of one of them about a change that happened before that time is late
//     (a store replaying its queue) and is skipped; a delivery of a change
//     made after it is new and fired. Entries are kept for polledTTL.
//
// Events are fired before they are recorded, and a delivery racing a poll
// on the same change may see neither entry: duplicates stay possible (with
// the same key), lost events do not.

const (
	deliveredType   = "delivered"
	deliveredPrefix = "delivered:"
	// maxSeen bounds each list of a delivered document (about 60 bytes an
	// entry); the oldest entries go first.
	maxSeen = 5000
	// polledTTL is how long a change fired by a poll waits for its late
	// delivery.
	polledTTL = 7 * 24 * time.Hour
)

// deliveredID returns the id of the duplicate-suppression document of
// record id.
func deliveredID(recordID string) string { return deliveredPrefix + recordID }

// seen is a change one path fired: the hash of its key and a time in epoch
// milliseconds.
type seen struct {
	Key string `json:"k"`
	At  int64  `json:"t"`
}

// deliveredDoc is what the two paths of one trigger fired.
type deliveredDoc struct {
	DocMeta
	Type   string `json:"type"`
	Record string `json:"record"`
	Pushed []seen `json:"pushed"`
	Polled []seen `json:"polled"`
}

// dedup is the duplicate suppression of one session.
type dedup struct {
	src   Deduper
	push  bool      // the session fires deliveries (else a poll)
	start time.Time // when the poll began
	doc   *deliveredDoc

	consumed []seen // entries of the other path matched (or superseded)
	fired    []seen // entries of this path fired
	pending  []seen // entries of the queued batch, parallel to it
	skipped  int64
}

func dedupKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:12])
}

// attachDedup loads the duplicate suppression of s's record when its source
// is a Deduper and the trigger is both pushed and polled. push tells the
// path; start is when a poll began.
func (pr *Provider) attachDedup(ctx context.Context, s *Session, push bool, start time.Time) error {
	d, ok := s.src.(Deduper)
	if !ok {
		return nil
	}
	if _, isSub := s.src.(Subscriber); !isSub {
		return nil
	}
	if _, polled := pollSchedule(s.src, s.Trigger); !polled {
		return nil
	}
	doc, err := GetDoc[deliveredDoc](ctx, pr.Store, deliveredID(s.rec.ID))
	switch {
	case errors.Is(err, ErrNotFound):
		doc = &deliveredDoc{}
	case err != nil:
		return err
	}
	s.dedup = &dedup{src: d, push: push, start: start, doc: doc}
	return nil
}

// admit reports whether e is to be fired; it records what it matched.
func (d *dedup) admit(e Event) bool {
	key, at := d.src.Dedup(e)
	if key == "" {
		d.pending = append(d.pending, seen{})
		return true
	}
	k := dedupKey(key)
	if d.push {
		if at.IsZero() {
			at = now()
		}
		t := at.UnixMilli()
		if i := slices.IndexFunc(d.doc.Polled, func(s seen) bool { return s.Key == k }); i >= 0 {
			p := d.doc.Polled[i]
			d.doc.Polled = slices.Delete(d.doc.Polled, i, i+1)
			d.consumed = append(d.consumed, p)
			if t < p.At {
				d.skipped++
				return false // a late delivery of what a poll fired
			}
		}
		d.pending = append(d.pending, seen{Key: k, At: t})
		return true
	}
	if i := slices.IndexFunc(d.doc.Pushed, func(s seen) bool { return s.Key == k }); i >= 0 {
		d.consumed = append(d.consumed, d.doc.Pushed[i])
		d.doc.Pushed = slices.Delete(d.doc.Pushed, i, i+1)
		d.skipped++
		return false
	}
	d.pending = append(d.pending, seen{Key: k, At: d.start.UnixMilli()})
	return true
}

// delivered records the queued batch as fired.
func (d *dedup) delivered() {
	for _, s := range d.pending {
		if s.Key != "" {
			d.fired = append(d.fired, s)
		}
	}
	d.pending = d.pending[:0]
}

// saveDedup merges what the session matched and fired into the stored
// document. ok tells a poll that succeeded: it forgets the pushed entries it
// matched and those older than its start. A poll that failed keeps them, as
// it will list the same changes again.
func (pr *Provider) saveDedup(ctx context.Context, s *Session, ok bool) error {
	d := s.dedup
	if d == nil {
		return nil
	}
	if !d.push && !ok {
		d.consumed = nil
	}
	prune := !d.push && ok
	if len(d.consumed) == 0 && len(d.fired) == 0 && !prune {
		return nil
	}
	_, err := UpsertDoc(ctx, pr.Store, deliveredID(s.rec.ID), func(doc *deliveredDoc) error {
		doc.Type, doc.Record = deliveredType, s.rec.ID
		own, other := &doc.Polled, &doc.Pushed
		if d.push {
			own, other = other, own
		}
		for _, c := range d.consumed {
			if i := slices.Index(*other, c); i >= 0 {
				*other = slices.Delete(*other, i, i+1)
			}
		}
		*own = append(*own, d.fired...)
		if prune {
			start := d.start.UnixMilli()
			doc.Pushed = slices.DeleteFunc(doc.Pushed, func(s seen) bool { return s.At < start })
		}
		expired := now().Add(-polledTTL).UnixMilli()
		doc.Polled = slices.DeleteFunc(doc.Polled, func(s seen) bool { return s.At < expired })
		doc.Pushed = doc.Pushed[max(0, len(doc.Pushed)-maxSeen):]
		doc.Polled = doc.Polled[max(0, len(doc.Polled)-maxSeen):]
		return nil
	})
	return err
}

// skippedEvents returns how many events the session's duplicate suppression
// dropped.
func (s *Session) skippedEvents() int64 {
	if s.dedup == nil {
		return 0
	}
	return s.dedup.skipped
}
