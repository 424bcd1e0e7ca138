package feed

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// ParamRepair asks the health action to fix the orphans it finds.
const ParamRepair = "repair"

// recentErrors is how far back Health reports trigger errors.
const recentErrors = 24 * time.Hour

// HealthReport is what the health action answers.
type HealthReport struct {
	Version string `json:"version"`
	CouchDB struct {
		Reachable bool   `json:"reachable"`
		Database  string `json:"database,omitempty"`
		Error     string `json:"error,omitempty"`
	} `json:"couchdb"`
	// Records counts the trigger records by kind, then by state (active,
	// paused, disabled).
	Records map[string]map[string]int `json:"records"`
	Overdue []TriggerNote             `json:"overdue_polls"`
	Errors  []TriggerNote             `json:"recent_errors"`
	Orphans []Orphan                  `json:"orphans"`
	Repair  bool                      `json:"repair"`
}

// TriggerNote is one line of a report about a user trigger.
type TriggerNote struct {
	Trigger string    `json:"trigger"`
	Kind    string    `json:"kind"`
	Detail  string    `json:"detail"`
	At      time.Time `json:"at,omitzero"`
}

// Orphan is a record without its alarm, or an alarm entity without a record.
type Orphan struct {
	Kind     string `json:"kind"` // record-without-alarm, alarm-trigger-without-record, rule-without-record
	Name     string `json:"name"`
	Detail   string `json:"detail"`
	Repaired bool   `json:"repaired,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Health returns the handler of the health action: version, CouchDB
// reachability, records by kind and state, overdue polls, recent errors and
// orphans both ways; with repair=true it fixes the orphans. pollers are the
// polling kinds whose records need an alarm.
func Health(pollers ...Poller) runtime.Handler {
	return runtime.HandlerFunc(func(ctx context.Context, raw json.RawMessage) (any, error) {
		params := map[string]any{}
		if err := runtime.DecodeParams(raw, &params); err != nil {
			return nil, err
		}
		rep := &HealthReport{Version: version(), Records: map[string]map[string]int{}, Overdue: []TriggerNote{}, Errors: []TriggerNote{}, Orphans: []Orphan{}}
		p := NewParams(stripProvider(params))
		rep.Repair = p.Bool(ParamRepair, false)
		if err := p.Err(); err != nil {
			return nil, asStatus(err)
		}
		pr, err := openProvider(ctx, params)
		if err != nil {
			if runtime.HTTPStatus(err) == 503 {
				rep.CouchDB.Error = err.Error()
				return rep, nil
			}
			return nil, err
		}
		defer pr.Close()
		rep.CouchDB.Reachable = true
		rep.CouchDB.Database = pr.Store.Name()
		return rep, pr.health(ctx, pollers, rep)
	})
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "0.1.0-dev"
}

func (pr *Provider) health(ctx context.Context, pollers []Poller, rep *HealthReport) error {
	polls := map[string]Poller{}
	for _, p := range pollers {
		polls[p.Kind()] = p
	}
	c, err := pr.whisk()
	if err != nil {
		return err
	}
	triggers, rules, err := pr.alarmEntities(ctx, c)
	if err != nil {
		return err
	}
	wanted := map[string]bool{}
	t := now()
	for rec, err := range pr.Store.List(ctx, ListFilter{}) {
		if err != nil {
			return err
		}
		name := rec.Namespace + "/" + rec.Name
		state := "active"
		switch {
		case rec.Paused:
			state = "paused"
		case !rec.Status.Active:
			state = "disabled"
		}
		if rep.Records[rec.Kind] == nil {
			rep.Records[rec.Kind] = map[string]int{}
		}
		rep.Records[rec.Kind][state]++
		if !rec.Stats.LastErrorAt.IsZero() && t.Sub(rec.Stats.LastErrorAt) < recentErrors {
			rep.Errors = append(rep.Errors, TriggerNote{Trigger: name, Kind: rec.Kind, Detail: rec.Stats.LastError, At: rec.Stats.LastErrorAt})
		}
		p, ok := polls[rec.Kind]
		if !ok {
			continue
		}
		s, polled := pollSchedule(p, &Trigger{Kind: rec.Kind, settings: rec.Config})
		if !polled {
			continue // a push source without its reconcile poll has no alarm
		}
		if state == "active" {
			if d := overdue(s, rec, t); d != "" {
				rep.Overdue = append(rep.Overdue, TriggerNote{Trigger: name, Kind: rec.Kind, Detail: d, At: rec.Stats.LastPollAt})
			}
		}
		if state == "disabled" {
			continue // a disabled feed has no alarm, on purpose
		}
		names := alarmNames(rec.ID)
		wanted[names.Trigger], wanted[names.Rule] = true, true
		if rec.Alarm == names && triggers[names.Trigger] && rules[names.Rule] {
			continue
		}
		o := Orphan{Kind: "record-without-alarm", Name: name, Detail: fmt.Sprintf("alarm trigger %s or rule %s is missing", names.Trigger, names.Rule)}
		if rep.Repair {
			o.Error = errString(pr.repairAlarm(ctx, rec, s))
			o.Repaired = o.Error == ""
		}
		rep.Orphans = append(rep.Orphans, o)
	}
	for name := range triggers {
		if !wanted[name] {
			o := Orphan{Kind: "alarm-trigger-without-record", Name: name, Detail: "no trigger record uses this alarm"}
			if rep.Repair {
				o.Error = errString(pr.deleteAlarm(ctx, Alarm{Trigger: name}))
				o.Repaired = o.Error == ""
			}
			rep.Orphans = append(rep.Orphans, o)
		}
	}
	for name := range rules {
		if !wanted[name] {
			o := Orphan{Kind: "rule-without-record", Name: name, Detail: "no trigger record uses this rule"}
			if rep.Repair {
				o.Error = errString(pr.deleteAlarm(ctx, Alarm{Rule: name}))
				o.Repaired = o.Error == ""
			}
			rep.Orphans = append(rep.Orphans, o)
		}
	}
	sort.Slice(rep.Orphans, func(i, j int) bool { return rep.Orphans[i].Name < rep.Orphans[j].Name })
	return nil
}

// repairAlarm recreates the alarm trigger and rule of rec.
func (pr *Provider) repairAlarm(ctx context.Context, rec *Record, s Schedule) error {
	if err := pr.deleteAlarm(ctx, alarmNames(rec.ID)); err != nil {
		return err
	}
	alarm, err := pr.createAlarm(ctx, rec, s)
	if err != nil {
		return err
	}
	_, err = pr.Store.Update(ctx, rec.ID, func(r *Record) error { r.Alarm = alarm; return nil })
	return err
}

// alarmEntities lists the provider namespace's whiskfeed alarm triggers and
// poll rules, by name.
func (pr *Provider) alarmEntities(ctx context.Context, c *whisk.Client) (triggers, rules map[string]bool, err error) {
	triggers, err = named(ctx, "triggers", "-alarm", func(o whisk.ListOptions) ([]string, error) {
		page, err := c.Triggers(ctx, pr.Namespace, o)
		return names(page, func(t whisk.Trigger) string { return t.Name }), err
	})
	if err != nil {
		return nil, nil, err
	}
	rules, err = named(ctx, "rules", "-poll", func(o whisk.ListOptions) ([]string, error) {
		page, err := c.Rules(ctx, pr.Namespace, o)
		return names(page, func(r whisk.Rule) string { return r.Name }), err
	})
	return triggers, rules, err
}

// named pages through a list and keeps the whiskfeed names with suffix.
func named(ctx context.Context, what, suffix string, list func(whisk.ListOptions) ([]string, error)) (map[string]bool, error) {
	out := map[string]bool{}
	for skip := 0; ctx.Err() == nil; skip += 200 {
		page, err := list(whisk.ListOptions{Limit: 200, Skip: skip})
		if err != nil {
			return nil, fmt.Errorf("list the provider's %s: %w", what, err)
		}
		for _, n := range page {
			if strings.HasPrefix(n, "whiskfeed-") && strings.HasSuffix(n, suffix) {
				out[n] = true
			}
		}
		if len(page) < 200 {
			break
		}
	}
	return out, ctx.Err()
}

func names[T any](items []T, name func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out
}

// overdue describes how late the last poll of rec is, or "" when it is not.
func overdue(s Schedule, rec *Record, t time.Time) string {
	last := rec.Stats.LastPollAt
	if last.IsZero() {
		last = rec.Created
	}
	if last.IsZero() {
		return ""
	}
	var next time.Time
	switch {
	case s.Cron != "":
		sched, err := cronParser.Parse(s.Cron)
		if err != nil {
			return "cron pattern cannot be parsed: " + err.Error()
		}
		next = sched.Next(last)
	case s.Interval > 0:
		next = last.Add(time.Duration(s.Interval) * time.Minute)
	default:
		return ""
	}
	// Allow a tick of slack plus a minute for the platform's scheduling.
	if late := t.Sub(next.Add(next.Sub(last) + time.Minute)); late > 0 {
		return fmt.Sprintf("last poll at %s; the next was due at %s", last.UTC().Format(time.RFC3339), next.UTC().Format(time.RFC3339))
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
