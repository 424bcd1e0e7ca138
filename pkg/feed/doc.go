// Package feed is the whiskfeed toolkit for OpenWhisk event sources: it keeps
// each user trigger's record, encrypted secrets, poll lease and listing
// snapshot in CouchDB, and drives the feed lifecycle around a source that
// polls or subscribes.
//
// The storage layer is [Store] (records, generic documents, leases and
// snapshot chunks) and [Keyring] (secrets sealed with the provider's
// encryption_key). Every Store method is safe for concurrent use and takes
// the context of the current activation.
package feed
