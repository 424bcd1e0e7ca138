// Package record carries the arrivals of events at the benchmark's user
// action: the action (tools/bench/recorder) reports when it started and
// which event keys it received with Report; the bench command collects the
// reports with a Collector served over HTTP and waits on them.
package record
