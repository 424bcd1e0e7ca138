package s3feed

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// baseTime is the LastModified of generated listings, with the seconds
// precision S3 listings have.
var baseTime = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func randomETag(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b[:])
}

// realisticListing returns n sorted objects shaped like a log bucket:
// "logs/2026/11/25/host-17/part-000123.json.gz", random MD5 ETags, sizes of
// a few KB to MB, times rising by seconds, mostly STANDARD.
func realisticListing(r *rand.Rand, n int) []Object {
	objs := make([]Object, 0, n)
	t := baseTime
	for day := 1; len(objs) < n; day++ {
		for host := 0; host < 40 && len(objs) < n; host++ {
			for part := 0; part < 500 && len(objs) < n; part++ {
				t = t.Add(time.Duration(r.IntN(30)) * time.Second)
				class := "STANDARD"
				if r.IntN(20) == 0 {
					class = "STANDARD_IA"
				}
				objs = append(objs, Object{
					Key:          fmt.Sprintf("logs/2026/%02d/%02d/host-%02d/part-%06d.json.gz", 1+day/28%12, 1+day%28, host, part),
					ETag:         randomETag(r),
					Size:         int64(1000 + r.IntN(5<<20)),
					LastModified: t,
					StorageClass: class,
				})
			}
		}
	}
	sortObjects(objs)
	return objs
}

func sortObjects(objs []Object) {
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
}

// tortureObject returns an object with the awkward values a store may send.
func tortureObject(r *rand.Rand, key string) Object {
	o := Object{Key: key, StorageClass: []string{"STANDARD", "", "GLACIER", "REDUCED_REDUNDANCY", "ÄRCHIV"}[r.IntN(5)]}
	switch r.IntN(7) {
	case 0:
		o.ETag = ""
	case 1:
		o.ETag = randomETag(r) + fmt.Sprintf("-%d", 1+r.IntN(10000))
	case 2:
		o.ETag = strings.ToUpper(randomETag(r))
	case 3:
		o.ETag = randomETag(r) + "-007" // not canonical: kept as text
	case 4:
		o.ETag = "W/\"ünïcode\""
	default:
		o.ETag = randomETag(r)
	}
	switch r.IntN(4) {
	case 0:
		o.Size = 0
	case 1:
		o.Size = 1<<63 - 1
	default:
		o.Size = r.Int64N(1 << 40)
	}
	switch r.IntN(5) {
	case 0:
		o.LastModified = time.Time{}
	case 1:
		o.LastModified = time.Unix(r.Int64N(1<<40)-1<<39, r.Int64N(1e9)).UTC()
	case 2:
		o.LastModified = time.Unix(r.Int64N(1<<33), r.Int64N(1000)*1e6).UTC()
	default:
		o.LastModified = time.Unix(r.Int64N(1<<33), 0).UTC()
	}
	return o
}

// randomKey returns a non-empty key from a small alphabet (so that keys share
// prefixes and collide) with unicode and control characters.
func randomKey(r *rand.Rand) string {
	alphabet := []string{"a", "b", "/", "日本", "é", "\x00", "\x7f", "z", "-", "ü", "😀", "0"}
	n := 1 + r.IntN(12)
	var sb strings.Builder
	for range n {
		sb.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return sb.String()
}

// randomListing returns up to n objects with distinct random keys, sorted.
func randomListing(r *rand.Rand, n int) []Object {
	seen := map[string]bool{}
	var objs []Object
	for range n {
		k := randomKey(r)
		if seen[k] {
			continue
		}
		seen[k] = true
		objs = append(objs, tortureObject(r, k))
	}
	sortObjects(objs)
	return objs
}

// collect runs a Differ to the end and returns every change and the listed
// objects; it fails the test on any error.
func collect(t testing.TB, d *Differ) (changes []Change, listed []Object) {
	t.Helper()
	for {
		step, err := d.Next(t.Context())
		if errors.Is(err, io.EOF) {
			return changes, listed
		}
		require.NoError(t, err)
		changes = append(changes, step.Changes...)
		listed = append(listed, step.Listed...)
	}
}

// failingPager serves objects in pages and fails with err once failAt objects
// were served.
func failingPager(objs []Object, pageSize, failAt int, err error) Pager {
	served := 0
	return PagerFunc(func(ctx context.Context) ([]Object, error) {
		if served >= failAt {
			return nil, err
		}
		if served >= len(objs) {
			return nil, io.EOF
		}
		n := min(pageSize, len(objs)-served, failAt-served)
		page := objs[served : served+n]
		served += n
		return page, nil
	})
}

// apply applies changes to a listing and returns the result, sorted.
func apply(t testing.TB, listing []Object, changes []Change) []Object {
	t.Helper()
	m := map[string]Object{}
	for _, o := range listing {
		m[o.Key] = o
	}
	for _, c := range changes {
		_, ok := m[c.Object.Key]
		switch c.Status {
		case StatusAdded:
			require.False(t, ok, "added %q already present", c.Object.Key)
			m[c.Object.Key] = c.Object
		case StatusModified:
			require.True(t, ok, "modified %q absent", c.Object.Key)
			m[c.Object.Key] = c.Object
		case StatusDeleted:
			require.True(t, ok, "deleted %q absent", c.Object.Key)
			delete(m, c.Object.Key)
		}
	}
	out := make([]Object, 0, len(m))
	for _, o := range m {
		out = append(out, o)
	}
	sortObjects(out)
	return out
}
