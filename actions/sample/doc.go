// Command sample is the small action that users' rules point at in the demo
// (and a model for their own): it logs one readable line per S3 event it
// receives, from a single event or a {bucket, events} batch, and returns
// {"received": n, "events": [...]}.
package main
