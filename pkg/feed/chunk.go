package feed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-kivik/kivik/v4"
)

// ErrChunkCorrupt is wrapped by the error of [Store.GetChunk] when the bytes
// read do not match the chunk's recorded size or hash.
var ErrChunkCorrupt = errors.New("snapshot chunk corrupt")

const (
	chunkIDPrefix   = "snap:"
	chunkAttachment = "data"
	chunkType       = "application/octet-stream"
	// deleteBatch is how many chunk documents one _bulk_docs request deletes.
	deleteBatch = 100
)

// ChunkRef points to one stored chunk of a snapshot. PutChunk fills ID,
// Hash and Bytes; the caller fills First, Last and Count, which describe the
// sorted range of keys the chunk holds. A ref may point to a chunk written
// under an older generation: unchanged chunks are reused, not rewritten.
type ChunkRef struct {
	ID    string `json:"id"`
	First string `json:"first,omitempty"` // first key in the chunk
	Last  string `json:"last,omitempty"`  // last key in the chunk
	Hash  string `json:"hash"`            // hex SHA-256 of the bytes
	Count int64  `json:"count"`           // entries in the chunk
	Bytes int64  `json:"bytes"`           // stored size
}

// ChunkHash returns the hash PutChunk records for data; compare it with a
// previous ref's Hash to decide whether the chunk can be reused.
func ChunkHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// chunkPrefix returns the id prefix shared by every chunk of recordID:
// "snap:<namespace>/<trigger>:".
func chunkPrefix(recordID string) (string, error) {
	name, ok := strings.CutPrefix(recordID, recordIDPrefix)
	if !ok || name == "" {
		return "", fmt.Errorf("record id %q: expected %q followed by namespace/name", recordID, recordIDPrefix)
	}
	return chunkIDPrefix + name + ":", nil
}

// ChunkID returns the id of chunk index of generation of recordID:
// "snap:<namespace>/<trigger>:<generation>:<index>".
func ChunkID(recordID string, generation int64, index int) (string, error) {
	p, err := chunkPrefix(recordID)
	if err != nil {
		return "", err
	}
	return p + strconv.FormatInt(generation, 10) + ":" + strconv.Itoa(index), nil
}

// parseChunkGeneration returns the generation encoded in a chunk id.
func parseChunkGeneration(id string) (int64, bool) {
	rest, _, ok := cutLast(id, ":") // drop index
	if !ok {
		return 0, false
	}
	_, gen, ok := cutLast(rest, ":")
	if !ok {
		return 0, false
	}
	g, err := strconv.ParseInt(gen, 10, 64)
	return g, err == nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// PutChunk stores data, opaque bytes, as the raw attachment of chunk index of
// generation of recordID, replacing a chunk left there by an attempt that
// never committed. Write a new generation as committed generation + 1, so
// that no committed chunk is overwritten; the switch happens when the record's
// Snapshot is updated to refs of the new generation.
func (s *Store) PutChunk(ctx context.Context, recordID string, generation int64, index int, data []byte) (ChunkRef, error) {
	id, err := ChunkID(recordID, generation, index)
	if err != nil {
		return ChunkRef{}, fmt.Errorf("put chunk: %w", err)
	}
	rev := ""
	for attempt := 0; ; attempt++ {
		if attempt >= s.attempts {
			return ChunkRef{}, fmt.Errorf("put chunk %s: %w after %d attempts", id, ErrConflict, s.attempts)
		}
		if attempt >= 2 { // the first retry is expected: a leftover or a tombstone
			if err := s.backoff(ctx, attempt-2); err != nil {
				return ChunkRef{}, fmt.Errorf("put chunk %s: %w", id, err)
			}
		}
		var opts []kivik.Option
		if rev != "" {
			opts = append(opts, kivik.Rev(rev))
		}
		att := &kivik.Attachment{
			Filename:    chunkAttachment,
			ContentType: chunkType,
			Content:     io.NopCloser(bytes.NewReader(data)),
			Size:        int64(len(data)),
		}
		_, err := s.db.PutAttachment(ctx, id, att, opts...)
		switch status := kivik.HTTPStatus(err); {
		case err == nil:
			return ChunkRef{ID: id, Hash: ChunkHash(data), Bytes: int64(len(data))}, nil
		case status == http.StatusConflict:
			// The id exists, a leftover of an attempt that never
			// committed: overwrite it at its current revision.
			rev, err = s.currentRev(ctx, id)
			if kivik.HTTPStatus(err) == http.StatusNotFound {
				rev = ""
			} else if err != nil {
				return ChunkRef{}, wrapErr("put chunk", id, err)
			}
		case status == http.StatusNotFound && rev == "":
			// pouchdb-server does not attach to a deleted document
			// without a revision: create an empty one over the tombstone.
			rev, err = s.db.Put(ctx, id, DocMeta{ID: id})
			if kivik.HTTPStatus(err) == http.StatusConflict {
				rev = ""
			} else if err != nil {
				return ChunkRef{}, wrapErr("put chunk", id, err)
			}
		default:
			return ChunkRef{}, wrapErr("put chunk", id, err)
		}
	}
}

// GetChunk reads the bytes of a chunk and checks them against ref's size and
// hash when set (an error wrapping [ErrChunkCorrupt] otherwise).
func (s *Store) GetChunk(ctx context.Context, ref ChunkRef) ([]byte, error) {
	att, err := s.db.GetAttachment(ctx, ref.ID, chunkAttachment)
	if err != nil {
		return nil, wrapErr("get chunk", ref.ID, err)
	}
	defer att.Content.Close()
	var buf bytes.Buffer
	if ref.Bytes > 0 {
		buf.Grow(int(ref.Bytes))
	}
	if _, err := io.Copy(&buf, att.Content); err != nil {
		return nil, fmt.Errorf("get chunk %s: %w", ref.ID, describeTransportErr(err))
	}
	data := buf.Bytes()
	if ref.Bytes > 0 && int64(len(data)) != ref.Bytes {
		return nil, fmt.Errorf("get chunk %s: %d bytes, expected %d: %w", ref.ID, len(data), ref.Bytes, ErrChunkCorrupt)
	}
	if ref.Hash != "" && ChunkHash(data) != ref.Hash {
		return nil, fmt.Errorf("get chunk %s: hash mismatch: %w", ref.ID, ErrChunkCorrupt)
	}
	return data, nil
}

// DeleteChunks deletes the chunk documents of recordID for which keep
// returns false (all of them when keep is nil) and returns how many it
// deleted. keep receives the chunk id and the generation it was written
// under.
func (s *Store) DeleteChunks(ctx context.Context, recordID string, keep func(id string, generation int64) bool) (int, error) {
	prefix, err := chunkPrefix(recordID)
	if err != nil {
		return 0, fmt.Errorf("delete chunks: %w", err)
	}
	var doomed []any
	for row, err := range s.allDocs(ctx, prefix, false) {
		if err != nil {
			return 0, fmt.Errorf("delete chunks of %s: %w", recordID, err)
		}
		id, _ := row.ID()
		gen, ok := parseChunkGeneration(id)
		if !ok || (keep != nil && keep(id, gen)) {
			continue
		}
		var value struct {
			Rev string `json:"rev"`
		}
		if err := row.ScanValue(&value); err != nil {
			return 0, fmt.Errorf("delete chunks of %s: %w", recordID, err)
		}
		doomed = append(doomed, DocMeta{ID: id, Rev: value.Rev, Deleted: true})
	}
	deleted := 0
	var errs []error
	for len(doomed) > 0 {
		batch := doomed[:min(deleteBatch, len(doomed))]
		doomed = doomed[len(batch):]
		results, err := s.db.BulkDocs(ctx, batch)
		if err != nil {
			return deleted, fmt.Errorf("delete chunks of %s: %w", recordID, describeTransportErr(err))
		}
		for _, r := range results {
			switch {
			case r.Error == nil:
				deleted++
			case kivik.HTTPStatus(r.Error) == http.StatusNotFound,
				kivik.HTTPStatus(r.Error) == http.StatusConflict:
				// Deleted or rewritten meanwhile (pouchdb-server answers 404
				// to a stale revision): leave it to the next collection
				// rather than race its writer.
			default:
				errs = append(errs, fmt.Errorf("chunk %s: %w", r.ID, r.Error))
			}
		}
	}
	if len(errs) > 0 {
		return deleted, fmt.Errorf("delete chunks of %s: %w", recordID, errors.Join(errs...))
	}
	return deleted, nil
}

// CollectChunks deletes the chunk documents of recordID that its committed
// snapshot no longer references: chunks of replaced generations, and the
// leftovers of attempts that crashed before their switch. Chunks of a
// generation above the committed one are kept, as a poller may be writing
// them; they become garbage, or part of the snapshot, at the next switch.
// Call it while holding the lease, after the poll's last switch (a poll
// that commits ranges one by one under one generation must not collect
// between commits). A missing record loses all its chunks.
func (s *Store) CollectChunks(ctx context.Context, recordID string) (int, error) {
	r, err := s.Get(ctx, recordID)
	if errors.Is(err, ErrNotFound) {
		return s.DeleteChunks(ctx, recordID, nil)
	}
	if err != nil {
		return 0, fmt.Errorf("collect chunks: %w", err)
	}
	live := make(map[string]bool, len(r.Snapshot.Chunks))
	for _, c := range r.Snapshot.Chunks {
		live[c.ID] = true
	}
	committed := r.Snapshot.Generation
	return s.DeleteChunks(ctx, recordID, func(id string, gen int64) bool {
		return live[id] || gen > committed
	})
}
