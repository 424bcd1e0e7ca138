package s3feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
)

// Example shows one poll: merge the stored snapshot with the new listing,
// fire the filtered events of each step, then store the chunks of the new
// snapshot up to the step's key.
func Example() {
	ctx := context.Background()
	t := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	etag := "9b2cf535f27731c974343645a3985328"
	old := []s3feed.Object{
		{Key: "reports/q2.csv", ETag: etag, Size: 10, LastModified: t, StorageClass: "STANDARD"},
		{Key: "reports/q3.csv", ETag: etag, Size: 20, LastModified: t, StorageClass: "STANDARD"},
	}
	listing := []s3feed.Object{
		{Key: "reports/q3.csv", ETag: "0cc175b9c0f1b6a831c399e269772661", Size: 21, LastModified: t.Add(time.Hour), StorageClass: "STANDARD"},
		{Key: "reports/q4.csv", ETag: etag, Size: 30, LastModified: t.Add(time.Hour), StorageClass: "STANDARD"},
		{Key: "tmp/scratch", ETag: etag, LastModified: t.Add(time.Hour)},
	}

	// The stored snapshot: chunks by hash, and the manifest listing them.
	chunks := map[string][]byte{}
	var manifest s3feed.Manifest
	b, _ := s3feed.NewBuilder()
	for _, o := range old {
		c, _ := b.Add(o)
		if c != nil {
			chunks[c.Hash], manifest.Chunks = c.Data, append(manifest.Chunks, c.ChunkRef)
		}
	}
	if c, _ := b.Flush(); c != nil {
		chunks[c.Hash], manifest.Chunks = c.Data, append(manifest.Chunks, c.ChunkRef)
	}
	fetch := func(_ context.Context, ref s3feed.ChunkRef) ([]byte, error) { return chunks[ref.Hash], nil }

	// The poll.
	events, _ := s3feed.ParseEvents("added,modified,deleted")
	filter := s3feed.Filter{Prefix: "reports/", Events: events}
	next, _ := s3feed.NewBuilder(s3feed.WithKnownChunk(func(h string) bool { return chunks[h] != nil }))
	var refs []s3feed.ChunkRef
	d := s3feed.NewDiffer(manifest.Pager(fetch), s3feed.SlicePager(listing, 1000))
	for {
		step, err := d.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Keep what was fired: the chunks written so far, then the old
			// snapshot after them.
			manifest = manifest.Advance(refs)
			return
		}
		for _, c := range step.Changes {
			if filter.Match(c.Object.Key, c.Status) {
				ev, _ := json.Marshal(s3feed.NewEvent("b", c, s3feed.SourcePoll))
				fmt.Println(string(ev)) // fire the trigger here
			}
		}
		for _, o := range step.Listed {
			if c, _ := next.Add(o); c != nil {
				refs = append(refs, c.ChunkRef) // store c.Data when not nil
			}
		}
	}
	if c, _ := next.Flush(); c != nil {
		refs = append(refs, c.ChunkRef)
	}
	manifest = s3feed.Manifest{Chunks: refs}
	fmt.Println(manifest.Objects(), "objects in the new snapshot")
	// Output:
	// {"bucket":"b","key":"reports/q2.csv","status":"deleted","file":{"Key":"reports/q2.csv","ETag":"9b2cf535f27731c974343645a3985328","Size":10,"LastModified":"2026-11-25T10:00:00Z","StorageClass":"STANDARD"},"event_id":"253b63f908d04d0e0252f3828b07f78e","source":"poll"}
	// {"bucket":"b","key":"reports/q3.csv","status":"modified","file":{"Key":"reports/q3.csv","ETag":"0cc175b9c0f1b6a831c399e269772661","Size":21,"LastModified":"2026-11-25T11:00:00Z","StorageClass":"STANDARD"},"event_id":"d10a107814fde8d24651a822c6a78d79","source":"poll"}
	// {"bucket":"b","key":"reports/q4.csv","status":"added","file":{"Key":"reports/q4.csv","ETag":"9b2cf535f27731c974343645a3985328","Size":30,"LastModified":"2026-11-25T11:00:00Z","StorageClass":"STANDARD"},"event_id":"7be24668d57fad239df9f078742bcd70","source":"poll"}
	// 3 objects in the new snapshot
}
