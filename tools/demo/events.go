package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The sources of events, as the S3 feeds write them.
const (
	sourcePoll         = "poll"
	sourceNotification = "notification"
)

// event is one S3 event as the sample action returns it.
type event struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Status string `json:"status"`
	File   struct {
		ETag string `json:"ETag"`
		Size int64  `json:"Size"`
	} `json:"file"`
	EventID string `json:"event_id"`
	Source  string `json:"source"`
}

// sampleResult is the result of an activation of the sample action.
type sampleResult struct {
	Received int     `json:"received"`
	Events   []event `json:"events"`
}

// decodeSampleResult reads the events out of a sample activation's result.
func decodeSampleResult(raw json.RawMessage) ([]event, error) {
	var r sampleResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode result of the sample action: %w", err)
	}
	return r.Events, nil
}

// id identifies an event for de-duplication: the feeds give a change seen
// twice the same event_id.
func (e event) id() string {
	if e.EventID != "" {
		return e.Source + "/" + e.EventID
	}
	return strings.Join([]string{e.Source, e.Status, e.Key, e.File.ETag}, "/")
}

// sourceLabel names where an event came from, for people.
func sourceLabel(source string) string {
	switch source {
	case sourcePoll:
		return "polling"
	case sourceNotification:
		return "notification"
	case "":
		return "?"
	}
	return source
}

// formatEvent is one line of the event log: the time since the change was
// made, the source, the status and the object.
//
//	+4.2s  polling       added     reports/q3.csv (28 B)
func formatEvent(elapsed time.Duration, e event) string {
	what := e.Key
	if e.Status != "deleted" {
		what += " (" + formatSize(e.File.Size) + ")"
	}
	return fmt.Sprintf("%7s  %-12s  %-8s  %s", "+"+formatSeconds(elapsed), sourceLabel(e.Source), e.Status, what)
}

// formatSeconds writes d in seconds with one decimal, "4.2s".
func formatSeconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}

// formatSize formats n bytes for people: "12 B", "3.4 KiB", "1.0 MiB".
func formatSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
}

// expected is an event the demo waits for.
type expected struct {
	source, status, key string
}

func (x expected) String() string {
	return fmt.Sprintf("%s %s via %s", x.status, x.key, sourceLabel(x.source))
}

// expectations is the set of events still awaited, in the order they were
// asked for, and the events that arrived without being awaited.
type expectations struct {
	pending    []expected
	unexpected []event
}

// expect adds events to wait for.
func (s *expectations) expect(xs ...expected) { s.pending = append(s.pending, xs...) }

// take records an arrived event: it ticks off the first pending expectation
// it matches and reports whether there was one; otherwise the event is kept
// as unexpected.
func (s *expectations) take(e event) bool {
	for i, x := range s.pending {
		if x.source == e.Source && x.status == e.Status && x.key == e.Key {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return true
		}
	}
	s.unexpected = append(s.unexpected, e)
	return false
}

// done reports whether every expected event arrived.
func (s *expectations) done() bool { return len(s.pending) == 0 }

// missing lists the expected events that did not arrive.
func (s *expectations) missing() []string {
	out := make([]string, 0, len(s.pending))
	for _, x := range s.pending {
		out = append(out, x.String())
	}
	return out
}
