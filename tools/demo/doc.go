// Command demo is `make demo`: against the local stack that `make up`
// started, and as the user guest, it connects two triggers to a fresh S3
// bucket (one through the polling feed, one through bucket notifications),
// points rules at a small sample action, changes a few files and prints each
// event as the sample action receives it, then what the triggers report
// about themselves, and removes everything it created. It exits non-zero when
// an expected event does not arrive in time.
package main
