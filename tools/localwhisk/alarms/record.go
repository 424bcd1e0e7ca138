package alarms

import (
	"encoding/json"
	"time"
)

// kind is the feed that created a record.
type kind int

const (
	kindCron kind = iota
	kindInterval
	kindOnce
)

// Reason kinds of a disabled record. Only AUTO is produced here; upstream's
// operators may also disable records (ADMIN).
const (
	ReasonAuto  = "AUTO"
	ReasonAdmin = "ADMIN"
)

// record is one alarm: what CREATE stored, plus its status. Date parameters
// are kept as given (a number of epoch milliseconds or a string) because
// READ and the messages echo them.
type record struct {
	ID              string          `json:"id"` // authKey/namespace/name
	AuthKey         string          `json:"apikey"`
	Namespace       string          `json:"namespace"`
	Name            string          `json:"name"`
	Payload         json.RawMessage `json:"payload"`
	Cron            string          `json:"cron,omitempty"`
	Timezone        string          `json:"timezone,omitempty"`
	Strict          any             `json:"strict,omitempty"`
	Minutes         int             `json:"minutes,omitempty"`
	Date            any             `json:"date,omitempty"`
	DeleteAfterFire string          `json:"deleteAfterFire,omitempty"`
	StartDate       any             `json:"startDate,omitempty"`
	StopDate        any             `json:"stopDate,omitempty"`
	MaxTriggers     int             `json:"maxTriggers"`
	TriggersLeft    int             `json:"triggersLeft"`
	Status          Status          `json:"status"`
}

func recordID(authKey, ns, name string) string { return authKey + "/" + ns + "/" + name }

func (r *record) kind() kind {
	switch {
	case r.Date != nil:
		return kindOnce
	case r.Minutes > 0:
		return kindInterval
	default:
		return kindCron
	}
}

// trigger names the record's trigger for logs and messages ("/ns/name").
func (r *record) trigger() string { return "/" + r.Namespace + "/" + r.Name }

// clone returns a copy that shares no mutable state with r.
func (r *record) clone() *record {
	c := *r
	if r.Status.Reason != nil {
		reason := *r.Status.Reason
		c.Status.Reason = &reason
	}
	return &c
}

// Status is the state of an alarm as READ returns it.
type Status struct {
	Active bool `json:"active"`
	// DateChanged is when Active last changed, in epoch milliseconds.
	DateChanged int64 `json:"dateChanged"`
	// DateChangedISO is DateChanged in UTC, to the second ("2006-01-02T15:04:05Z").
	DateChangedISO string `json:"dateChangedISO"`
	// Reason says why an inactive alarm was disabled.
	Reason *Reason `json:"reason,omitempty"`
}

// Reason explains a disabled alarm.
type Reason struct {
	Kind       string `json:"kind"`                 // ReasonAuto or ReasonAdmin
	StatusCode int    `json:"statusCode,omitempty"` // the HTTP status that disabled it, if any
	Message    string `json:"message"`
}

func activeStatus(now time.Time) Status {
	return Status{Active: true, DateChanged: now.UnixMilli(), DateChangedISO: isoSeconds(now)}
}

func disabledStatus(now time.Time, statusCode int, msg string) Status {
	return Status{DateChanged: now.UnixMilli(), DateChangedISO: isoSeconds(now),
		Reason: &Reason{Kind: ReasonAuto, StatusCode: statusCode, Message: msg}}
}

func isoSeconds(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Config is the configuration of an alarm as READ returns it. Which fields
// are set depends on the feed: cron, timezone, startDate and stopDate for
// alarm; minutes, startDate and stopDate for interval; date and
// deleteAfterFire for once. Dates are echoed as given.
type Config struct {
	Name            string          `json:"name"`
	Namespace       string          `json:"namespace"`
	Payload         json.RawMessage `json:"payload"`
	Strict          any             `json:"strict"`
	Date            any             `json:"date,omitempty"`
	DeleteAfterFire string          `json:"deleteAfterFire,omitempty"`
	StartDate       any             `json:"startDate,omitempty"`
	StopDate        any             `json:"stopDate,omitempty"`
	Minutes         int             `json:"minutes,omitempty"`
	Cron            string          `json:"cron,omitempty"`
	Timezone        string          `json:"timezone,omitempty"`
}

// ReadResult is the result of the READ lifecycle event (what `wsk trigger
// get` prints for an alarm trigger).
type ReadResult struct {
	Config Config `json:"config"`
	Status Status `json:"status"`
}

func (r *record) read() ReadResult {
	c := Config{Name: r.Name, Namespace: r.Namespace, Payload: r.Payload, Strict: r.Strict}
	if c.Strict == nil {
		c.Strict = false
	}
	switch r.kind() {
	case kindOnce:
		c.Date, c.DeleteAfterFire = r.Date, r.DeleteAfterFire
	case kindInterval:
		c.StartDate, c.StopDate, c.Minutes = r.StartDate, r.StopDate, r.Minutes
	default:
		c.StartDate, c.StopDate, c.Cron, c.Timezone = r.StartDate, r.StopDate, r.Cron, r.Timezone
	}
	st := r.Status
	st.DateChangedISO = isoSeconds(time.UnixMilli(st.DateChanged))
	if st.Reason != nil {
		reason := *st.Reason
		st.Reason = &reason
	}
	return ReadResult{Config: c, Status: st}
}
