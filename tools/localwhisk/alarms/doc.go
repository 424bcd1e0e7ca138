// Package alarms is localwhisk's built-in /whisk.system/alarms package: the
// feed actions alarm (cron), once (a date) and interval (every N minutes),
// served in process, and the provider that fires the users' triggers on
// schedule the way the upstream alarms provider does (same parameters,
// validation messages, READ shape, payload rules, retries and automatic
// disabling).
//
// # Wiring
//
//	srv, _ := server.New(server.Config{APIHost: url, DataDir: dir})
//	p, err := alarms.Register(srv, alarms.WithAPIHost(url), alarms.WithDataDir(dir))
//	defer p.Close() // before srv.Close
//
// Register adds the public package alarms to the namespace whisk.system (bound
// parameters apihost and trigger_payload "") with the three feed actions,
// annotated feed: true, and starts one scheduler goroutine. Users connect a
// trigger exactly as with OpenWhisk:
//
//	wsk trigger create every5s --feed /whisk.system/alarms/alarm -p cron '*/5 * * * * *'
//
// # Records
//
// Each CREATE stores a record keyed by the caller's auth key, namespace and
// trigger name, holding the configuration, the auth key used to fire and a
// status {active, dateChanged, reason}. With WithDataDir the records are JSON
// files below DIR/alarms (one per record, file names derived from a hash, not
// from the key) and survive restarts; at start every active record is checked
// with a GET of its trigger, as upstream does. Without it they live in memory.
//
// # Differences from upstream
//
// Upstream runs a web action and a separate provider service sharing a
// database; here both are one in-process component. A record's fire that is
// still being retried when its next tick comes makes that tick be skipped
// (upstream would start an overlapping fire). Dates are epoch milliseconds or
// ISO-8601 strings (JavaScript's other date formats are not accepted). DELETE
// of an unknown record succeeds, as the feed contract asks.
package alarms
