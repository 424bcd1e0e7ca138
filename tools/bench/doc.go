// Command bench measures whiskfeed against the targets of its benchmark
// issue: it starts what it needs of the local stack (pouchdb-server, MinIO,
// localwhisk with the manifest deployed, a fake S3 listing served by another
// process), runs every row in one run, prints a table of target, measured
// value and verdict, and writes it with a description of the machine to
// docs/benchmarks.md. The in-process rows run `go test -bench`.
//
//	go run ./tools/bench            # or: make bench
//	go run ./tools/bench -only 2,3  # some rows; docs/benchmarks.md is left alone
//
// The MinIO bucket of 100,000 objects is built once and kept in the cache
// directory (-cache, default <user cache dir>/whiskfeed/bench).
package main
