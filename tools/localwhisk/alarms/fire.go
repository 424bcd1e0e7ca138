package alarms

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// job is one tick of one record, fired by its own goroutine. rec is a copy
// taken when the tick was due.
type job struct {
	e   *entry
	gen uint64
	rec *record
	due time.Time
}

// idleWait is how long the scheduler sleeps when nothing is scheduled (it
// wakes earlier on every change).
const idleWait = time.Hour

// loop is the scheduler: it starts the fires that are due and sleeps until
// the next one or a change of the schedule.
func (p *Provider) loop(ctx context.Context) {
	defer p.wg.Done()
	timer := time.NewTimer(idleWait)
	defer timer.Stop()
	for {
		now := p.now()
		jobs, next := p.due(now)
		for _, j := range jobs {
			p.wg.Add(1)
			go p.run(ctx, j)
		}
		wait := idleWait
		if !next.IsZero() {
			wait = min(max(next.Sub(now), 0), idleWait)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-timer.C:
		}
	}
}

// due collects the ticks due at now, advances their records' schedules and
// returns the earliest next tick.
func (p *Provider) due(now time.Time) ([]job, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var jobs []job
	var earliest time.Time
	for _, e := range p.entries {
		if !e.rec.Status.Active || e.next.IsZero() {
			continue
		}
		if !e.next.After(now) {
			at := e.next
			e.advance(at, now)
			switch {
			case e.busy:
				p.log.Warn("alarm tick skipped: previous fire still in progress", "trigger", e.rec.trigger())
			case e.rec.MaxTriggers > 0 && e.rec.TriggersLeft <= 0:
			default:
				e.busy = true
				jobs = append(jobs, job{e: e, gen: e.gen, rec: e.rec.clone(), due: at})
			}
		}
		if !e.next.IsZero() && (earliest.IsZero() || e.next.Before(earliest)) {
			earliest = e.next
		}
	}
	return jobs, earliest
}

// current returns j's entry, locked, if the record was not replaced, updated
// or deleted since the tick; otherwise it returns nil, unlocked.
func (p *Provider) current(j job) *entry {
	p.mu.Lock()
	if p.entries[j.rec.ID] == j.e && j.e.gen == j.gen {
		return j.e
	}
	p.mu.Unlock()
	return nil
}

// run fires one tick and then applies what follows a fire.
func (p *Provider) run(ctx context.Context, j job) {
	defer p.wg.Done()
	fired := p.fire(ctx, j)
	if ctx.Err() != nil {
		p.mu.Lock()
		j.e.busy = false
		p.mu.Unlock()
		return
	}
	p.afterFire(ctx, j, fired)
}

// disables reports the statuses that disable a record at once: 4xx except
// 408, 409 and 429.
func disables(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout &&
		status != http.StatusConflict && status != http.StatusTooManyRequests
}

// fire posts the record's payload to its trigger with the stored auth key.
// Failures other than disabling ones are retried up to retryAttempts times,
// waiting max(base, base × n²) with n the 429 answers so far; a record whose
// every retried attempt was a 429 is disabled. It reports a fire the server
// accepted (any status below 400, including 204 for no active rule).
func (p *Provider) fire(ctx context.Context, j job) bool {
	r := j.rec
	c, err := p.client(r.AuthKey, whisk.NoRetry())
	if err != nil {
		p.log.Error("alarm cannot fire", "trigger", r.trigger(), "error", err)
		return false
	}
	q := whisk.QName{Namespace: r.Namespace, Name: r.Name}
	base := p.opts.retryBase
	throttled := 0
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, requestTimeout)
		_, err := c.FireTrigger(actx, q, r.Payload)
		cancel()
		if ctx.Err() != nil {
			return false
		}
		status := whisk.HTTPStatus(err)
		if err == nil || (status > 0 && status < 400) {
			p.log.Debug("alarm fired", "trigger", r.trigger())
			return true
		}
		p.log.Warn("alarm fire failed", "trigger", r.trigger(), "attempt", attempt+1, "error", err)
		if disables(status) {
			p.disable(ctx, j, status, fmt.Sprintf("Trigger automatically disabled: Received a %d status code when firing the trigger", status))
			return false
		}
		if attempt >= retryAttempts {
			if throttled == retryAttempts {
				p.disable(ctx, j, http.StatusTooManyRequests, "Automatically disabled after continuously receiving a 429 status code when firing the trigger")
			} else {
				p.log.Error("alarm tick dropped: unable to reach server to fire trigger", "trigger", r.trigger(), "attempts", attempt+1)
			}
			return false
		}
		if status == http.StatusTooManyRequests {
			throttled++
		}
		delay := max(base, base*time.Duration(throttled*throttled))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// disable disables j's record unless it changed since the tick.
func (p *Provider) disable(ctx context.Context, j job, status int, msg string) {
	e := p.current(j)
	if e == nil {
		return
	}
	defer p.mu.Unlock()
	p.disableLocked(ctx, e, status, msg)
}

// afterFire counts the fire and ends what is over: once alarms (disabled,
// or deleted with their trigger and maybe rules), alarms past their last
// fire before stopDate, and alarms out of maxTriggers.
func (p *Provider) afterFire(ctx context.Context, j job, fired bool) {
	e := p.current(j)
	if e == nil {
		p.mu.Lock()
		j.e.busy = false
		p.mu.Unlock()
		return
	}
	e.busy = false
	r := e.rec
	now := p.now()
	if fired && r.MaxTriggers > 0 && r.TriggersLeft > 0 {
		r.TriggersLeft--
		if err := p.saveLocked(ctx, r); err != nil {
			p.log.Error("alarm not saved", "trigger", r.trigger(), "error", err)
		}
	}
	switch {
	case r.kind() == kindOnce && (r.DeleteAfterFire == "true" || r.DeleteAfterFire == "rules"):
		if err := p.removeLocked(ctx, r); err != nil {
			p.log.Error("alarm not removed", "trigger", r.trigger(), "error", err)
		}
		delete(p.entries, r.ID)
		rules := r.DeleteAfterFire == "rules"
		p.mu.Unlock()
		p.deleteTrigger(ctx, j.rec, rules)
		return
	case r.kind() == kindOnce:
		p.disableLocked(ctx, e, 0, "Automatically disabled after firing once")
	default:
		if msg, last := e.lastBeforeStop(now); last {
			p.disableLocked(ctx, e, 0, msg)
		} else if r.MaxTriggers > 0 && r.TriggersLeft <= 0 {
			p.disableLocked(ctx, e, 0, "Automatically disabled after reaching max triggers")
		}
	}
	p.mu.Unlock()
}

// deleteTrigger deletes a once alarm's trigger after its fire and, with
// rules, every rule the trigger had. Failures are logged.
func (p *Provider) deleteTrigger(ctx context.Context, r *record, rules bool) {
	c, err := p.client(r.AuthKey, whisk.DefaultRetryPolicy())
	if err != nil {
		p.log.Error("alarm trigger not deleted", "trigger", r.trigger(), "error", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	q := whisk.QName{Namespace: r.Namespace, Name: r.Name}
	var linked []string
	if rules {
		t, err := c.Trigger(ctx, q)
		if err != nil {
			p.log.Error("alarm trigger not deleted", "trigger", r.trigger(), "error", err)
			return
		}
		for k := range t.Rules {
			linked = append(linked, k)
		}
	}
	if err := c.DeleteTrigger(ctx, q); err != nil {
		p.log.Error("alarm trigger not deleted", "trigger", r.trigger(), "error", err)
		return
	}
	p.log.Info("alarm trigger deleted after firing once", "trigger", r.trigger())
	for _, k := range linked {
		ns, name, ok := strings.Cut(k, "/")
		if !ok {
			ns, name = r.Namespace, k
		}
		if err := c.DeleteRule(ctx, whisk.QName{Namespace: ns, Name: name}); err != nil {
			p.log.Error("alarm rule not deleted", "trigger", r.trigger(), "rule", k, "error", err)
		}
	}
}

// initRecords checks, once at start, every loaded active record's trigger
// with its auth key, as upstream does: a disabling status (see disables)
// disables the record, anything else schedules it.
func (p *Provider) initRecords(ctx context.Context, ids []string) {
	defer p.wg.Done()
	for _, id := range ids {
		p.mu.Lock()
		e := p.entries[id]
		if e == nil || !e.rec.Status.Active {
			p.mu.Unlock()
			continue
		}
		gen, r := e.gen, e.rec.clone()
		p.mu.Unlock()

		status := p.checkTrigger(ctx, r)
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		if p.entries[id] == e && e.gen == gen && e.rec.Status.Active {
			switch {
			case disables(status):
				p.disableLocked(ctx, e, status, fmt.Sprintf("Automatically disabled after receiving a %d status code on trigger initialization", status))
			default:
				if err := e.plan(p.now(), p.opts.delayLimit); err != nil {
					p.disableLocked(ctx, e, 0, "Automatically disabled after receiving error on trigger initialization: "+err.Error())
				}
			}
		}
		p.mu.Unlock()
		p.notify()
	}
}

// checkTrigger GETs r's trigger with its auth key and returns the HTTP
// status of the failure (0 for success or a network failure).
func (p *Provider) checkTrigger(ctx context.Context, r *record) int {
	c, err := p.client(r.AuthKey, whisk.NoRetry())
	if err != nil {
		return http.StatusUnauthorized
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err = c.Trigger(ctx, whisk.QName{Namespace: r.Namespace, Name: r.Name})
	return whisk.HTTPStatus(err)
}
