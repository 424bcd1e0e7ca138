// Command health is the provider's diagnostics action
// (s3-trigger-feed-web/health): version, CouchDB reachability, trigger
// records by kind and state, overdue polls, recent errors and orphaned
// alarms; repair=true fixes the orphans.
package main
