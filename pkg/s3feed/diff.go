package s3feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Status says what happened to an object between two listings.
type Status string

// The statuses of a change, as they appear in events.
const (
	StatusAdded    Status = "added"
	StatusModified Status = "modified"
	StatusDeleted  Status = "deleted"
)

// Change is one difference between the previous listing and the new one.
type Change struct {
	Status Status
	// Object is the object as listed now; for StatusDeleted, as last seen.
	Object Object
	// Previous is the version in the previous listing for StatusModified, and
	// the zero Object otherwise.
	Previous Object
}

// Side names one of the two listings a Differ merges.
type Side string

// The two inputs of a Differ.
const (
	SidePrevious Side = "previous"
	SideNew      Side = "new"
)

// ErrUnsorted reports a listing whose keys are not strictly increasing
// (byte-wise), or that holds an empty key.
var ErrUnsorted = errors.New("listing keys not strictly increasing")

// ListingError reports that one input of a Differ failed or was malformed.
// Every key up to and including After was merged and reported before the
// failure; nothing after it was, so no object is announced as deleted because
// a listing stopped early.
type ListingError struct {
	Side Side
	// After is the last key merged before the failure; "" when none was.
	After string
	Err   error
}

func (e *ListingError) Error() string {
	return fmt.Sprintf("read %s listing after key %q: %v", e.Side, e.After, e.Err)
}

func (e *ListingError) Unwrap() error { return e.Err }

// Step is the outcome of one call to Differ.Next. Its slices are valid until
// the next call to Next.
type Step struct {
	// Changes are the changes of this step, in key order.
	Changes []Change
	// Listed are the objects of the new listing merged in this step, in key
	// order: feed them to a Builder to write the new snapshot.
	Listed []Object
	// Through is the largest key merged so far: every key <= Through, in both
	// listings, has been merged and its change reported in this or an earlier
	// step. "" when nothing was merged yet (S3 keys are never empty).
	Through string
}

// Differ merges two listings sorted by key, the previous snapshot and the new
// listing, and reports objects added, modified or deleted. An object is
// modified when its ETag changed; when both ETags are empty (stores that send
// none), a change of Size or LastModified counts instead. A changed size or time
// under an unchanged non-empty ETag is not a modification: the ETag is the
// truth.
//
// The merge streams: it holds one page of each listing, so memory is bounded by
// the page size, and it allocates nothing per object (only when the change
// buffer grows). A Differ is not safe for concurrent use.
type Differ struct {
	prev, next Pager

	pp, np     []Object
	pi, ni     int
	pEOF, nEOF bool

	last    string
	changes []Change
	err     error // reported by the next call to Next
}

// NewDiffer returns a Differ of prev (the previous snapshot) against next (the
// new listing).
func NewDiffer(prev, next Pager) *Differ {
	return &Differ{prev: prev, next: next}
}

// Next merges until a page of either listing is used up and returns the changes
// found. It returns io.EOF once both listings are fully merged, and a
// *ListingError when a listing fails or is not sorted; the steps returned
// before an error remain valid and cover every key up to Step.Through. Next
// blocks while a Pager fetches a page.
func (d *Differ) Next(ctx context.Context) (Step, error) {
	if d.err != nil {
		return Step{}, d.err
	}
	if err := d.fill(ctx); err != nil {
		d.err = err
		return Step{}, err
	}
	if d.pEOF && d.nEOF {
		d.err = io.EOF
		return Step{}, io.EOF
	}
	d.changes = d.changes[:0]
	start := d.ni
	switch {
	case d.pEOF:
		d.err = d.addRest()
	case d.nEOF:
		d.err = d.deleteRest()
	default:
		d.err = d.merge()
	}
	return Step{Changes: d.changes, Listed: d.np[start:d.ni], Through: d.last}, nil
}

// fill fetches a page for each side whose page is used up.
func (d *Differ) fill(ctx context.Context) error {
	for !d.pEOF && d.pi >= len(d.pp) {
		page, err := d.prev.NextPage(ctx)
		if errors.Is(err, io.EOF) {
			d.pEOF, d.pp, d.pi = true, nil, 0
			break
		}
		if err != nil {
			return &ListingError{Side: SidePrevious, After: d.last, Err: err}
		}
		d.pp, d.pi = page, 0
	}
	for !d.nEOF && d.ni >= len(d.np) {
		page, err := d.next.NextPage(ctx)
		if errors.Is(err, io.EOF) {
			d.nEOF, d.np, d.ni = true, nil, 0
			break
		}
		if err != nil {
			return &ListingError{Side: SideNew, After: d.last, Err: err}
		}
		d.np, d.ni = page, 0
	}
	return nil
}

// merge is the hot loop: both pages have objects left.
func (d *Differ) merge() error {
	pp, np := d.pp, d.np
	pi, ni := d.pi, d.ni
	last := d.last
	var err error
	for pi < len(pp) && ni < len(np) {
		p, n := &pp[pi], &np[ni]
		c := strings.Compare(p.Key, n.Key)
		if c == 0 {
			if p.Key <= last {
				err = d.unsorted(SideNew, last)
				break
			}
			if modified(p, n) {
				d.changes = append(d.changes, Change{Status: StatusModified, Object: *n, Previous: *p})
			}
			last = n.Key
			pi++
			ni++
			continue
		}
		if c < 0 {
			if p.Key <= last {
				err = d.unsorted(SidePrevious, last)
				break
			}
			d.changes = append(d.changes, Change{Status: StatusDeleted, Object: *p})
			last = p.Key
			pi++
			continue
		}
		if n.Key <= last {
			err = d.unsorted(SideNew, last)
			break
		}
		d.changes = append(d.changes, Change{Status: StatusAdded, Object: *n})
		last = n.Key
		ni++
	}
	d.pi, d.ni, d.last = pi, ni, last
	return err
}

// addRest reports the rest of the new page as added: the previous listing ended.
func (d *Differ) addRest() error {
	for ; d.ni < len(d.np); d.ni++ {
		n := &d.np[d.ni]
		if n.Key <= d.last {
			return d.unsorted(SideNew, d.last)
		}
		d.changes = append(d.changes, Change{Status: StatusAdded, Object: *n})
		d.last = n.Key
	}
	return nil
}

// deleteRest reports the rest of the previous page as deleted: the new listing
// ended.
func (d *Differ) deleteRest() error {
	for ; d.pi < len(d.pp); d.pi++ {
		p := &d.pp[d.pi]
		if p.Key <= d.last {
			return d.unsorted(SidePrevious, d.last)
		}
		d.changes = append(d.changes, Change{Status: StatusDeleted, Object: *p})
		d.last = p.Key
	}
	return nil
}

func (d *Differ) unsorted(side Side, after string) error {
	return &ListingError{Side: side, After: after, Err: ErrUnsorted}
}

// modified reports whether n is a modification of p (same key).
func modified(p, n *Object) bool {
	if p.ETag != n.ETag {
		return true
	}
	if p.ETag == "" {
		return p.Size != n.Size || !p.LastModified.Equal(n.LastModified)
	}
	return false
}
