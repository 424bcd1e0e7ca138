package s3feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func obj(key, etag string) Object {
	return Object{Key: key, ETag: etag, Size: 1, LastModified: baseTime, StorageClass: "STANDARD"}
}

func TestDifferChanges(t *testing.T) {
	later := baseTime.Add(time.Hour)
	tests := []struct {
		name       string
		prev, next []Object
		want       []Change
	}{
		{name: "both empty"},
		{
			name: "all added",
			next: []Object{obj("a", "1"), obj("b", "2")},
			want: []Change{{Status: StatusAdded, Object: obj("a", "1")}, {Status: StatusAdded, Object: obj("b", "2")}},
		},
		{
			name: "all deleted",
			prev: []Object{obj("a", "1"), obj("b", "2")},
			want: []Change{{Status: StatusDeleted, Object: obj("a", "1")}, {Status: StatusDeleted, Object: obj("b", "2")}},
		},
		{
			name: "unchanged",
			prev: []Object{obj("a", "1"), obj("b", "2")},
			next: []Object{obj("a", "1"), obj("b", "2")},
		},
		{
			name: "interleaved",
			prev: []Object{obj("a", "1"), obj("c", "3"), obj("d", "4"), obj("f", "6")},
			next: []Object{obj("b", "2"), obj("c", "3"), obj("d", "x"), obj("e", "5")},
			want: []Change{
				{Status: StatusDeleted, Object: obj("a", "1")},
				{Status: StatusAdded, Object: obj("b", "2")},
				{Status: StatusModified, Object: obj("d", "x"), Previous: obj("d", "4")},
				{Status: StatusAdded, Object: obj("e", "5")},
				{Status: StatusDeleted, Object: obj("f", "6")},
			},
		},
		{
			name: "same etag other size and time is not a modification",
			prev: []Object{obj("a", "1")},
			next: []Object{{Key: "a", ETag: "1", Size: 99, LastModified: later}},
		},
		{
			name: "empty etags compare size",
			prev: []Object{obj("a", "")},
			next: []Object{{Key: "a", Size: 2, LastModified: baseTime}},
			want: []Change{{Status: StatusModified, Object: Object{Key: "a", Size: 2, LastModified: baseTime}, Previous: obj("a", "")}},
		},
		{
			name: "empty etags compare time",
			prev: []Object{obj("a", "")},
			next: []Object{{Key: "a", Size: 1, LastModified: later}},
			want: []Change{{Status: StatusModified, Object: Object{Key: "a", Size: 1, LastModified: later}, Previous: obj("a", "")}},
		},
		{
			name: "empty etags same size and time",
			prev: []Object{obj("a", "")},
			next: []Object{{Key: "a", Size: 1, LastModified: baseTime.In(time.FixedZone("x", 3600))}},
		},
		{
			name: "etag appears",
			prev: []Object{obj("a", "")},
			next: []Object{obj("a", "1")},
			want: []Change{{Status: StatusModified, Object: obj("a", "1"), Previous: obj("a", "")}},
		},
		{
			name: "byte order, not unicode collation",
			prev: []Object{obj("Z", "1"), obj("a", "1"), obj("é", "1")},
			next: []Object{obj("Z", "1"), obj("é", "2")},
			want: []Change{
				{Status: StatusDeleted, Object: obj("a", "1")},
				{Status: StatusModified, Object: obj("é", "2"), Previous: obj("é", "1")},
			},
		},
	}
	for _, tc := range tests {
		for _, pageSize := range []int{1, 2, 3, 0} {
			t.Run(fmt.Sprintf("%s/page %d", tc.name, pageSize), func(t *testing.T) {
				got, listed := collect(t, NewDiffer(SlicePager(tc.prev, pageSize), SlicePager(tc.next, pageSize+1)))
				assert.Equal(t, tc.want, got)
				assert.Equal(t, tc.next, listed)
			})
		}
	}
}

// TestDifferThrough checks the progress guarantee on random listings and page
// sizes: after a step, every key <= Through was merged, and later steps only
// report keys > Through.
func TestDifferThrough(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		prev := randomListing(r, r.IntN(40))
		next := mutate(r, prev, 0.3)
		d := NewDiffer(SlicePager(prev, 1+r.IntN(5)), SlicePager(next, 1+r.IntN(5)))
		var through string
		var changes []Change
		var listed []Object
		for {
			step, err := d.Next(t.Context())
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			for _, c := range step.Changes {
				assert.Greater(t, c.Object.Key, through)
				assert.LessOrEqual(t, c.Object.Key, step.Through)
			}
			for _, o := range step.Listed {
				assert.Greater(t, o.Key, through)
				assert.LessOrEqual(t, o.Key, step.Through)
			}
			// Completeness: every key of either listing <= Through was merged.
			changes = append(changes, step.Changes...)
			listed = append(listed, step.Listed...)
			assert.Equal(t, keysUpTo(next, step.Through), keysOf(listed))
			assert.Equal(t, keysOf(apply(t, upTo(prev, step.Through), changes)), keysUpTo(next, step.Through))
			through = step.Through
		}
		assert.Equal(t, next, listed)
		assert.Equal(t, projection(next), projection(apply(t, prev, changes)))
	}
}

func TestDifferListingFailsPartWay(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	boom := errors.New("connection reset")
	for _, side := range []Side{SidePrevious, SideNew} {
		t.Run(string(side), func(t *testing.T) {
			for range 100 {
				prev := randomListing(r, 1+r.IntN(40))
				next := mutate(r, prev, 0.2)
				pp, np := SlicePager(prev, 1+r.IntN(4)), SlicePager(next, 1+r.IntN(4))
				failing := prev
				if side == SideNew {
					failing = next
				}
				failAt := r.IntN(len(failing) + 1)
				if side == SidePrevious {
					pp = failingPager(prev, 1+r.IntN(4), failAt, boom)
				} else {
					np = failingPager(next, 1+r.IntN(4), failAt, boom)
				}
				d := NewDiffer(pp, np)
				var changes []Change
				var through string
				var err error
				for {
					var step Step
					step, err = d.Next(t.Context())
					if err != nil {
						break
					}
					changes = append(changes, step.Changes...)
					through = step.Through
				}
				var le *ListingError
				require.ErrorAs(t, err, &le)
				require.ErrorIs(t, err, boom)
				assert.Equal(t, side, le.Side)
				assert.Equal(t, through, le.After)
				// Nothing beyond what the failing side had served was reported.
				if failAt > 0 {
					assert.LessOrEqual(t, through, failing[failAt-1].Key)
				} else {
					assert.Empty(t, through)
				}
				// What was reported is exactly the difference up to Through.
				assert.Equal(t, projection(upTo(next, through)), projection(apply(t, upTo(prev, through), changes)))
				// The error sticks.
				_, again := d.Next(t.Context())
				assert.ErrorIs(t, again, boom)
			}
		})
	}
}

func TestDifferUnsorted(t *testing.T) {
	tests := []struct {
		name       string
		prev, next []Object
		side       Side
		after      string
		want       []Change // reported before the error
	}{
		{
			name: "new descending",
			prev: []Object{obj("a", "1")},
			next: []Object{obj("a", "1"), obj("c", "1"), obj("b", "1")},
			side: SideNew, after: "c",
			want: []Change{{Status: StatusAdded, Object: obj("c", "1")}},
		},
		{
			name: "new descending while merging",
			prev: []Object{obj("a", "1"), obj("d", "1")},
			next: []Object{obj("a", "1"), obj("c", "1"), obj("b", "1")},
			side: SideNew, after: "c",
			want: []Change{{Status: StatusAdded, Object: obj("c", "1")}},
		},
		{
			name: "previous descending while merging",
			prev: []Object{obj("a", "1"), obj("c", "1"), obj("b", "1")},
			next: []Object{obj("a", "1"), obj("d", "1")},
			side: SidePrevious, after: "c",
			want: []Change{{Status: StatusDeleted, Object: obj("c", "1")}},
		},
		{
			name: "equal keys out of order",
			prev: []Object{obj("b", "1"), obj("c", "1"), obj("a", "1")},
			next: []Object{obj("c", "1"), obj("a", "2")},
			side: SideNew, after: "c",
			want: []Change{{Status: StatusDeleted, Object: obj("b", "1")}},
		},
		{
			name: "previous duplicate",
			prev: []Object{obj("a", "1"), obj("a", "1")},
			next: []Object{obj("b", "1")},
			side: SidePrevious, after: "a",
			want: []Change{{Status: StatusDeleted, Object: obj("a", "1")}},
		},
		{
			name: "new duplicate after previous ended",
			next: []Object{obj("a", "1"), obj("a", "2")},
			side: SideNew, after: "a",
			want: []Change{{Status: StatusAdded, Object: obj("a", "1")}},
		},
		{
			name: "previous descending after new ended",
			prev: []Object{obj("b", "1"), obj("a", "1")},
			side: SidePrevious, after: "b",
			want: []Change{{Status: StatusDeleted, Object: obj("b", "1")}},
		},
		{
			name: "empty key",
			next: []Object{obj("", "1")},
			side: SideNew,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDiffer(SlicePager(tc.prev, 0), SlicePager(tc.next, 0))
			var got []Change
			var err error
			for err == nil {
				var step Step
				step, err = d.Next(t.Context())
				got = append(got, step.Changes...)
			}
			require.ErrorIs(t, err, ErrUnsorted)
			var le *ListingError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, tc.side, le.Side)
			assert.Equal(t, tc.after, le.After)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDifferContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := NewDiffer(SlicePager([]Object{obj("a", "1")}, 0), SlicePager(nil, 0)).Next(ctx)
	require.ErrorIs(t, err, context.Canceled)
	var le *ListingError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, SidePrevious, le.Side)
}

// mutate returns a copy of listing with about rate of its objects deleted or
// overwritten, and new objects put.
func mutate(r *rand.Rand, listing []Object, rate float64) []Object {
	var out []Object
	seen := map[string]bool{}
	for _, o := range listing {
		seen[o.Key] = true
		switch {
		case r.Float64() >= rate:
			out = append(out, o)
		case r.IntN(2) == 0:
			// deleted
		case r.IntN(4) == 0:
			// overwritten with the same content: only the time moves
			o.LastModified = o.LastModified.Add(time.Minute)
			out = append(out, o)
		default:
			n := tortureObject(r, o.Key)
			if n.ETag == o.ETag {
				n.ETag += "x"
			}
			out = append(out, n)
		}
	}
	for range int(float64(len(listing))*rate) + r.IntN(3) {
		k := randomKey(r)
		if !seen[k] {
			seen[k] = true
			out = append(out, tortureObject(r, k))
		}
	}
	sortObjects(out)
	return out
}

func upTo(objs []Object, through string) []Object {
	var out []Object
	for _, o := range objs {
		if o.Key <= through {
			out = append(out, o)
		}
	}
	return out
}

func keysOf(objs []Object) []string {
	out := []string{}
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func keysUpTo(objs []Object, through string) []string { return keysOf(upTo(objs, through)) }

// projection keeps what a diff is about: keys and ETags.
func projection(objs []Object) [][2]string {
	out := [][2]string{}
	for _, o := range objs {
		out = append(out, [2]string{o.Key, o.ETag})
	}
	return out
}
