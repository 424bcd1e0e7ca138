// Command recorder is the user action of the benchmark: bound by a rule to
// the trigger being measured, it notes when it started and POSTs that time
// with the keys of the events it received to the URL bound as its
// recorder_url parameter, where tools/bench collects them.
package main
