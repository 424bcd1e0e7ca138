package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

// file is the object an event is about, as the S3 feeds describe it.
type file struct {
	Key          string `json:"Key"`
	ETag         string `json:"ETag,omitempty"`
	Size         int64  `json:"Size"`
	LastModified string `json:"LastModified,omitempty"`
	StorageClass string `json:"StorageClass,omitempty"`
}

// event is one change of one object: what a trigger of the S3 feeds is
// fired with when batch_size is 1.
type event struct {
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Status  string `json:"status"` // added, modified or deleted
	File    file   `json:"file"`
	EventID string `json:"event_id,omitempty"`
	Source  string `json:"source,omitempty"` // poll or notification
}

// String describes e in one line, such as
// "added reports/q3.csv (12 B) via poll".
func (e event) String() string {
	s := e.Status + " " + e.Key
	if e.Status != "deleted" {
		s += " (" + size(e.File.Size) + ")"
	}
	if e.Source != "" {
		s += " via " + e.Source
	}
	return s
}

// size formats n bytes for people: "12 B", "3.4 KiB", "1.0 MiB".
func size(n int64) string {
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

// input is one fire: a single event, or a batch {bucket, events} when the
// trigger was created with batch_size > 1. Rules also pass __ow_headers,
// which is ignored (it may carry the firer's credentials).
type input struct {
	event
	Events []event `json:"events"`
}

// output is the activation result: the events as received.
type output struct {
	Received int     `json:"received"`
	Events   []event `json:"events"`
}

// receive returns the handler: it logs each event it receives to log (the
// activation's log when log is stdout), one line each, and returns them.
func receive(log io.Writer) func(context.Context, input) (output, error) {
	return func(_ context.Context, in input) (output, error) {
		events := in.Events
		if len(events) == 0 && in.Key != "" {
			events = []event{in.event}
		}
		out := output{Received: len(events), Events: make([]event, 0, len(events))}
		for _, e := range events {
			if e.Bucket == "" {
				e.Bucket = in.Bucket
			}
			fmt.Fprintln(log, e)
			out.Events = append(out.Events, e)
		}
		if len(events) == 0 {
			fmt.Fprintln(log, "no event in the parameters")
		}
		return out, nil
	}
}
