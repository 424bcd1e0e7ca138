// Package e2e proves whiskfeed end to end: the real action binaries, packed
// as for OpenWhisk, deployed from manifest.yaml into localwhisk as
// whisk.system, with pouchdb-server as CouchDB and MinIO as S3, driven by a
// user through the feed protocol exactly as wsk speaks it. The package holds
// tests only; run them with `go test ./tests/e2e` (they need `make deps`).
package e2e
