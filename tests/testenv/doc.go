// Package testenv gives tests real servers of the local stack: an in-memory
// pouchdb-server as CouchDB and MinIO as S3, started once per test binary and
// stopped when it ends, plus fresh database and bucket names per test.
//
// A package that uses it calls Main from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Without Main every test gets its own servers, stopped by t.Cleanup. Tests
// that need a server are skipped with -short; when a server is not installed
// they fail, telling to run `make deps`.
package testenv
