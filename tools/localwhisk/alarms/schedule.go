package alarms

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/robfig/cron/v3"
)

// cronParser reads node-cron patterns: five fields (minute granularity) or
// six with leading seconds.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// loadTimezone resolves the timezone parameter; empty means UTC.
func loadTimezone(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	if tz == "Local" {
		return nil, badRequest(msgInvalidTimezone)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, badRequest(msgInvalidTimezone)
	}
	return loc, nil
}

// checkCron validates a cron pattern and its timezone with upstream's
// messages. A pattern that never matches (Feb 30) is not valid either.
func checkCron(now time.Time, pattern any, tz any, limitFields bool) (string, string, error) {
	zone := ""
	if truthy(tz) {
		s, ok := tz.(string)
		if !ok {
			return "", "", badRequest(msgInvalidTimezone)
		}
		zone = s
	}
	loc, err := loadTimezone(zone)
	if err != nil {
		return "", "", err
	}
	p, ok := pattern.(string)
	invalid := badRequest("cron pattern '%s' is not valid", jsText(pattern))
	if !ok {
		return "", "", invalid
	}
	trimmed := strings.TrimSpace(p)
	if strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ=") {
		return "", "", invalid
	}
	s, err := cronParser.Parse(trimmed)
	if err != nil || s.Next(now.In(loc)).IsZero() {
		return "", "", invalid
	}
	if limitFields && hasSecondsGranularity(p) {
		return "", "", badRequest("cron pattern is limited to 5 fields with 1 minute as the finest granularity")
	}
	return p, zone, nil
}

// hasSecondsGranularity reports a six-field pattern whose seconds are not "0".
func hasSecondsGranularity(p string) bool {
	f := strings.Fields(p)
	return len(f) > 5 && f[len(f)-6] != "0"
}

// hashSeconds is upstream's name hash, mapping a trigger name to a seconds
// offset in [0, limit], computed with JavaScript's number semantics.
func hashSeconds(name string, limit int) int {
	h := 0.0
	for _, c := range utf16.Encode([]rune(name)) {
		h = float64(toInt32(h)<<5) - h + float64(c)
	}
	h = math.Mod(h, float64(limit+1))
	return int(math.Abs(h))
}

// toInt32 is JavaScript's ToInt32 for an integral number.
func toInt32(f float64) int32 {
	m := math.Mod(math.Trunc(f), 1<<32)
	if m < 0 {
		m += 1 << 32
	}
	return int32(uint32(m))
}

// Errors that keep an enabled record from being scheduled (upstream's
// provider disables the record with them).
var (
	errOnceExpired  = errors.New("the fire once date has expired")
	errStopExpired  = errors.New("the stop date has expired")
	errNextAfterEnd = errors.New("the next scheduled trigger fire is after the stop date")
)

// entry is the scheduler's view of a record. All fields are guarded by the
// provider's mutex.
type entry struct {
	rec   *record
	gen   uint64        // changes at every CREATE and UPDATE of the record
	sched cron.Schedule // kindCron only
	loc   *time.Location
	next  time.Time // zero: nothing scheduled
	busy  bool      // a fire is in flight
}

// dates returns the record's start and stop dates (zero when absent).
func (r *record) dates() (start, stop time.Time) {
	if truthy(r.StartDate) {
		start, _ = parseDate(r.StartDate)
	}
	if truthy(r.StopDate) {
		stop, _ = parseDate(r.StopDate)
	}
	return start, stop
}

// cronSpec is the pattern the provider schedules: five-field patterns of
// non-strict records get the name-hashed seconds offset when delayLimit > 0.
func (r *record) cronSpec(delayLimit int) string {
	f := strings.Fields(r.Cron)
	if delayLimit > 0 && len(f) == 5 && !isStrict(r.Strict) {
		return strconv.Itoa(hashSeconds(r.Name, delayLimit)) + " " + strings.Join(f, " ")
	}
	return r.Cron
}

// plan computes the first fire of an enabled record at now, or why it
// cannot be scheduled.
func (e *entry) plan(now time.Time, delayLimit int) error {
	r := e.rec
	e.next, e.sched, e.loc = time.Time{}, nil, nil
	start, stop := r.dates()
	switch r.kind() {
	case kindOnce:
		d, ok := parseDate(r.Date)
		if !ok || !d.After(now) {
			return errOnceExpired
		}
		e.next = d
	case kindInterval:
		if !stop.IsZero() && !stop.After(now) {
			return errStopExpired
		}
		period := time.Duration(r.Minutes) * time.Minute
		if start.IsZero() {
			start = now
		}
		next := start
		if !start.After(now) {
			next = start.Add(period * (now.Sub(start)/period + 1))
			if !stop.IsZero() && next.After(stop) {
				return errNextAfterEnd
			}
		}
		e.next = next
	default:
		loc, err := loadTimezone(r.Timezone)
		if err != nil {
			return fmt.Errorf("timezone %q: %w", r.Timezone, err)
		}
		s, err := cronParser.Parse(r.cronSpec(delayLimit))
		if err != nil {
			return fmt.Errorf("cron pattern %q: %w", r.Cron, err)
		}
		if !stop.IsZero() && !stop.After(now) {
			return errStopExpired
		}
		base := now
		if start.After(now) {
			base = start
		}
		next := s.Next(base.In(loc))
		if next.IsZero() || (!stop.IsZero() && next.After(stop)) {
			return errNextAfterEnd
		}
		e.sched, e.loc, e.next = s, loc, next
	}
	return nil
}

// advance moves next past a tick that was due at due, skipping ticks missed
// while the process was late; next becomes zero after the last tick (once
// alarms, or no tick before stopDate).
func (e *entry) advance(due, now time.Time) {
	r := e.rec
	_, stop := r.dates()
	var next time.Time
	switch r.kind() {
	case kindInterval:
		period := time.Duration(r.Minutes) * time.Minute
		next = due.Add(period)
		if !next.After(now) {
			next = due.Add(period * (now.Sub(due)/period + 1))
		}
	case kindCron:
		next = e.sched.Next(due.In(e.loc))
		if !next.IsZero() && !next.After(now) {
			next = e.sched.Next(now.In(e.loc))
		}
	}
	if !stop.IsZero() && next.After(stop) {
		next = time.Time{}
	}
	e.next = next
}

// lastBeforeStop reports, after a fire at now, that no further fire comes
// before the stop date, with upstream's message for disabling the record.
func (e *entry) lastBeforeStop(now time.Time) (string, bool) {
	r := e.rec
	_, stop := r.dates()
	if stop.IsZero() {
		return "", false
	}
	switch r.kind() {
	case kindCron:
		if e.sched == nil {
			return "", false
		}
		if n := e.sched.Next(now.In(e.loc)); n.IsZero() || n.After(stop) {
			return "Automatically disabled after firing last scheduled cron trigger", true
		}
	case kindInterval:
		if now.Add(time.Duration(r.Minutes) * time.Minute).After(stop) {
			return "Automatically disabled after firing last scheduled interval trigger", true
		}
	}
	return "", false
}
