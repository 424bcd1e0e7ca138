// Package service starts and stops the processes of the whiskfeed local stack
// (pouchdb-server as CouchDB, MinIO as S3, localwhisk as OpenWhisk) on
// 127.0.0.1, waits until they answer, and installs what they need (the pinned
// npm packages and a cached MinIO binary).
//
// Every process runs in its own process group; Proc.Stop terminates the whole
// group, so nothing is left behind. A process that is not detached is also
// killed by the kernel when the program that started it dies (Linux), which
// keeps test binaries from leaking servers.
package service
