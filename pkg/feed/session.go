package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Session is one poll of one trigger, handed to a Poller. It delivers the
// events the poller emits, in batches, and stores the poller's cursor and
// snapshot only after everything emitted before was delivered. A Session is
// not safe for concurrent use, except ReadChunk and WriteChunk, which only
// touch the store and may be called from other goroutines while the poll
// emits (a poller reads and writes chunks ahead of its merge).
type Session struct {
	// Trigger is the trigger being polled.
	Trigger *Trigger

	src      Source
	store    *Store
	rec      *Record
	holder   string
	fire     func(ctx context.Context, payload any, events int) error
	baseline bool

	batchSize int
	batch     []Event
	emitted   int64
	objects   int64
	hasObjs   bool

	cursor     json.RawMessage
	snapshot   Snapshot
	generation int64
	committed  bool

	dedup *dedup // nil unless the trigger is both pushed and polled
}

// Baseline reports whether this session records the starting state during
// CREATE: events emitted during a baseline are dropped, not fired.
func (s *Session) Baseline() bool { return s.baseline }

// Cursor decodes the last committed cursor into v and reports whether there
// was one.
func (s *Session) Cursor(v any) (bool, error) {
	if len(s.cursor) == 0 || string(s.cursor) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(s.cursor, v); err != nil {
		return false, fmt.Errorf("decode cursor of %s: %w", s.Trigger, err)
	}
	return true, nil
}

// Emit queues events for delivery and fires every full batch. An error means
// some events were not delivered: the poller must stop and must not commit
// a cursor that covers them.
func (s *Session) Emit(ctx context.Context, events ...Event) error {
	if s.baseline {
		return nil
	}
	f, filters := s.src.(Filterer)
	for _, e := range events {
		if filters && !f.Match(s.Trigger, e) {
			continue
		}
		if s.dedup != nil && !s.dedup.admit(e) {
			continue
		}
		s.batch = append(s.batch, e)
		if len(s.batch) >= s.batchSize {
			if err := s.Flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush fires the queued events now.
func (s *Session) Flush(ctx context.Context) error {
	if len(s.batch) == 0 {
		return nil
	}
	var payload any
	switch b, ok := s.src.(Batcher); {
	case len(s.batch) == 1 && s.batchSize == 1:
		payload = s.batch[0].Data
	case ok:
		payload = b.Batch(s.Trigger, s.batch)
	default:
		payload = map[string]any{"events": s.batch}
	}
	if err := s.fire(ctx, payload, len(s.batch)); err != nil {
		return err
	}
	if s.dedup != nil {
		s.dedup.delivered()
	}
	s.emitted += int64(len(s.batch))
	s.batch = s.batch[:0]
	return nil
}

// SetObjects records how many objects the source saw in its last complete
// listing; READ shows it.
func (s *Session) SetObjects(n int64) { s.objects, s.hasObjs = n, true }

// Chunks returns the committed snapshot's chunks, in key order.
func (s *Session) Chunks() []ChunkRef { return s.snapshot.Chunks }

// ReadChunk returns the bytes of a committed chunk.
func (s *Session) ReadChunk(ctx context.Context, ref ChunkRef) ([]byte, error) {
	return s.store.GetChunk(ctx, ref)
}

// WriteChunk stores a chunk of the next snapshot. Only refs passed to
// CommitSnapshot become part of it; others are collected later. first, last
// and count describe the keys it holds.
func (s *Session) WriteChunk(ctx context.Context, index int, data []byte, first, last string, count int64) (ChunkRef, error) {
	ref, err := s.store.PutChunk(ctx, s.rec.ID, s.generation, index, data)
	if err != nil {
		return ChunkRef{}, err
	}
	ref.First, ref.Last, ref.Count = first, last, count
	return ref, nil
}

// Commit delivers what is queued, then stores cursor.
func (s *Session) Commit(ctx context.Context, cursor any) error {
	return s.commit(ctx, cursor, nil)
}

// CommitSnapshot delivers what is queued, then stores cursor and makes chunks
// the committed snapshot, atomically. Chunks of the previous snapshot that
// are not reused are deleted afterwards.
func (s *Session) CommitSnapshot(ctx context.Context, cursor any, chunks []ChunkRef) error {
	if chunks == nil {
		chunks = []ChunkRef{}
	}
	return s.commit(ctx, cursor, chunks)
}

func (s *Session) commit(ctx context.Context, cursor any, chunks []ChunkRef) error {
	if err := s.Flush(ctx); err != nil {
		return err
	}
	raw, err := json.Marshal(cursor)
	if err != nil {
		return fmt.Errorf("encode cursor of %s: %w", s.Trigger, err)
	}
	s.cursor = raw
	if chunks != nil {
		s.snapshot = Snapshot{Generation: s.generation, Chunks: chunks}
	}
	s.committed = true
	// The record itself is written once, at the end of the poll, together
	// with the statistics and the lease release, unless the poll asks for
	// intermediate checkpoints (long listings).
	return nil
}

// Checkpoint writes what was committed so far to CouchDB now, keeping the
// lease; long polls call it so that a crash loses little work.
func (s *Session) Checkpoint(ctx context.Context) error {
	if !s.committed {
		return nil
	}
	_, err := s.store.UpdateHeld(ctx, s.rec.ID, s.holder, func(r *Record) error {
		s.apply(r)
		return nil
	})
	return err
}

// apply copies the committed state into r.
func (s *Session) apply(r *Record) {
	if !s.committed {
		return
	}
	r.Cursor = s.cursor
	if s.snapshot.Chunks != nil {
		r.Snapshot = s.snapshot
	}
}

// errStopped is returned by Emit after the feed was disabled mid-poll.
var errStopped = errors.New("feed disabled while polling")

// pollTimeout leaves room, before the activation's deadline, to store the
// results of a poll.
func pollTimeout(deadline time.Time, now time.Time) time.Duration {
	left := deadline.Sub(now)
	margin := max(left/6, 2*time.Second)
	return max(left-margin, time.Second)
}
