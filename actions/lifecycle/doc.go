// Command lifecycle is the private web action that does the work of the
// S3 feed actions: CREATE, READ, UPDATE, DELETE, PAUSE and UNPAUSE of
// s3-changes triggers, with the state in CouchDB.
package main
