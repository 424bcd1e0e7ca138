package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// Schedule is when a polling trigger is polled: every Interval minutes, or
// on a Cron pattern of 5 fields (minute granularity) or 6 (leading seconds).
type Schedule struct {
	Interval int    `json:"interval,omitempty"`
	Cron     string `json:"cron,omitempty"`
}

// Scheduling parameters, read by the toolkit for every Poller.
const (
	ParamInterval  = "interval"
	ParamCron      = "cron"
	ParamBatchSize = "batch_size"
)

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// readSchedule reads interval (whole minutes, 1-1440, default 1) or cron.
func readSchedule(p *Params) Schedule {
	if p.Has(ParamCron) {
		c := p.String(ParamCron, "")
		if p.Has(ParamInterval) {
			p.Invalid(ParamInterval, "either interval or cron, not both", p.values[ParamInterval])
		}
		if n := len(strings.Fields(c)); n != 5 && n != 6 {
			p.Invalid(ParamCron, "a cron pattern of 5 fields (minute hour day month weekday) or 6 (with leading seconds)", c)
		} else if _, err := cronParser.Parse(c); err != nil {
			p.Invalid(ParamCron, "a valid cron pattern ("+err.Error()+")", c)
		}
		return Schedule{Cron: c}
	}
	return Schedule{Interval: p.Int(ParamInterval, 1, 1, 1440)}
}

// pollSchedule returns when trigger t of src is polled, and false when it
// is not: src is no Poller, or a PollScheduler that says so. Other pollers
// are polled on the interval or cron stored in the settings.
func pollSchedule(src Source, t *Trigger) (Schedule, bool) {
	if _, ok := src.(Poller); !ok {
		return Schedule{}, false
	}
	if ps, ok := src.(PollScheduler); ok {
		return ps.PollSchedule(t)
	}
	var s Schedule
	_ = json.Unmarshal(t.settings, &s)
	return s, true
}

// alarmNames returns the names of the alarm trigger and rule of record id in
// the provider namespace: derived from a hash, since user names may hold
// characters or lengths the provider's names cannot.
func alarmNames(id string) Alarm {
	sum := sha256.Sum256([]byte(id))
	h := hex.EncodeToString(sum[:10])
	return Alarm{Trigger: "whiskfeed-" + h + "-alarm", Rule: "whiskfeed-" + h + "-poll"}
}

// createAlarm creates, as the CLI would, the alarm trigger of rec through
// the alarms feed with the record id as payload, and the rule from it to
// the poll action. It undoes what it created when a step fails.
func (pr *Provider) createAlarm(ctx context.Context, rec *Record, s Schedule) (Alarm, error) {
	c, err := pr.whisk()
	if err != nil {
		return Alarm{}, err
	}
	names := alarmNames(rec.ID)
	trig := whisk.QName{Namespace: pr.Namespace, Name: names.Trigger}
	// A trigger left by an earlier, interrupted attempt is replaced.
	_ = c.DeleteFeedTrigger(ctx, trig)
	feedName, params := pr.Alarms, map[string]any{"trigger_payload": map[string]any{"record": rec.ID}}
	if s.Cron != "" {
		feedName.Name = "alarm"
		params["cron"] = s.Cron
	} else {
		feedName.Name = "interval"
		params["minutes"] = s.Interval
	}
	if _, err := c.CreateFeedTrigger(ctx, trig, feedName, params); err != nil {
		return Alarm{}, fmt.Errorf("create alarm trigger %s: %w", trig, err)
	}
	rule := whisk.QName{Namespace: pr.Namespace, Name: names.Rule}
	if _, err := c.PutRule(ctx, rule, trig, pr.action("poll"), whisk.Overwrite); err != nil {
		_ = c.DeleteFeedTrigger(context.WithoutCancel(ctx), trig)
		return Alarm{}, fmt.Errorf("create rule %s: %w", rule, err)
	}
	return names, nil
}

// deleteAlarm removes the rule and the alarm trigger (through the alarms
// feed's DELETE) of a record; what is already gone is fine.
func (pr *Provider) deleteAlarm(ctx context.Context, a Alarm) error {
	if a.Trigger == "" && a.Rule == "" {
		return nil
	}
	c, err := pr.whisk()
	if err != nil {
		return err
	}
	var errs []error
	if a.Rule != "" {
		if err := c.DeleteRule(ctx, whisk.QName{Namespace: pr.Namespace, Name: a.Rule}); err != nil && !whisk.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete rule %s: %w", a.Rule, err))
		}
	}
	if a.Trigger != "" {
		if err := c.DeleteFeedTrigger(ctx, whisk.QName{Namespace: pr.Namespace, Name: a.Trigger}); err != nil && !whisk.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete alarm trigger %s: %w", a.Trigger, err))
		}
	}
	return errors.Join(errs...)
}

// setAlarmActive activates or deactivates the rule of a record (PAUSE,
// UNPAUSE).
func (pr *Provider) setAlarmActive(ctx context.Context, a Alarm, active bool) error {
	if a.Rule == "" {
		return nil
	}
	c, err := pr.whisk()
	if err != nil {
		return err
	}
	status := whisk.RuleInactive
	if active {
		status = whisk.RuleActive
	}
	if err := c.SetRuleStatus(ctx, whisk.QName{Namespace: pr.Namespace, Name: a.Rule}, status); err != nil {
		return fmt.Errorf("set rule %s %s: %w", a.Rule, status, err)
	}
	return nil
}
