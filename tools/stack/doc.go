// Command stack installs, starts and stops the whiskfeed local stack on
// 127.0.0.1: pouchdb-server as CouchDB, localwhisk as OpenWhisk and MinIO as
// S3, with its state, logs and pid files under .whiskfeed/ of the repository.
//
//	go run ./tools/stack install   # npm packages and the MinIO binary (once)
//	go run ./tools/stack up        # start everything, write .whiskfeed/stack.env
//	go run ./tools/stack status
//	go run ./tools/stack env       # print .whiskfeed/stack.env
//	go run ./tools/stack down      # stop exactly what up started
//
// Ports come from WHISKFEED_WHISK_PORT (3233), WHISKFEED_COUCHDB_PORT (5984),
// WHISKFEED_S3_PORT (9000) and WHISKFEED_S3_CONSOLE_PORT (S3 port + 1, 0 =
// no console); WHISKFEED_WEBHOOK_TOKEN sets the token MinIO sends to the hook
// web action (default: generated once and kept in .whiskfeed/secrets.env).
package main
