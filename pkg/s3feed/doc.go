// Package s3feed is the S3 event source of whiskfeed. This part holds its pure
// core for polling: a streaming, allocation-free merge of a bucket listing
// against the previous snapshot (Differ), the events it produces (Event,
// Filter), and the compact chunked snapshot format kept between polls
// (Builder, Manifest, DecodeChunk).
//
// Nothing here performs I/O of its own: listings and stored chunks arrive
// through the Pager interface and chunk fetch functions supplied by the caller.
package s3feed
