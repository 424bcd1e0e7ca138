// Package s3feed is the S3 event source of whiskfeed, in both patterns of
// the OpenWhisk feed architecture.
//
// Changes returns the polling source (kind "s3-changes"): each poll lists a
// bucket with ListObjectsV2, merges the listing with the snapshot kept from
// the previous poll and fires an event per object added, modified or
// deleted. Notifications returns the hooks source (kind "s3-notifications"):
// it merges one whiskfeed entry into the bucket's notification
// configuration and turns each delivery into the same events, with an
// optional slow reconcile poll that catches deliveries the store dropped.
//
// The polling core does no I/O of its own: a streaming, allocation-free
// merge of a listing against the previous snapshot (Differ), the events it
// produces (Event, Filter), and the compact chunked snapshot format kept
// between polls (Builder, Manifest, DecodeChunk). Listings arrive through
// the Pager interface (ListPager reads one from S3) and stored chunks
// through fetch functions supplied by the caller.
package s3feed
