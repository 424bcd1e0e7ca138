// Package s3feed is the S3 event source of whiskfeed. Changes returns the
// polling source (kind "s3-changes"): each poll lists a bucket with
// ListObjectsV2, merges the listing with the snapshot kept from the previous
// poll and fires an event per object added, modified or deleted.
//
// Its pure core does no I/O of its own: a streaming, allocation-free merge
// of a listing against the previous snapshot (Differ), the events it
// produces (Event, Filter), and the compact chunked snapshot format kept
// between polls (Builder, Manifest, DecodeChunk). Listings arrive through
// the Pager interface (ListPager reads one from S3) and stored chunks
// through fetch functions supplied by the caller.
package s3feed
