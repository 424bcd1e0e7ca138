package alarms

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

// defaultIntervalStart is how far in the future an interval alarm without
// startDate begins (upstream's 30 s).
const defaultIntervalStart = 30 * time.Second

// success is the result of a lifecycle request that succeeded.
func success() map[string]any { return map[string]any{"status": "success"} }

// target is the trigger a lifecycle request is about.
type target struct {
	namespace string
	name      string
	authKey   string
}

func (t target) id() string { return recordID(t.authKey, t.namespace, t.name) }

func (t target) String() string { return "/" + t.namespace + "/" + t.name }

// feed is the handler of the three feed actions. Failures are answered as
// {"error": …} results (application errors), as upstream's feed does.
func (p *Provider) feed(ctx context.Context, params map[string]any, caller server.Identity) (any, error) {
	res, err := p.lifecycle(ctx, params, caller)
	if err != nil {
		ev, _ := params["lifecycleEvent"].(string)
		var le *lifecycleError
		if errors.As(err, &le) {
			p.log.Info("alarm lifecycle refused", "event", ev, "status_code", le.status, "error", le.Error())
			return le.result(), nil
		}
		p.log.Error("alarm lifecycle failed", "event", ev, "error", err)
		return nil, err
	}
	return res, nil
}

func (p *Provider) lifecycle(ctx context.Context, params map[string]any, caller server.Identity) (any, error) {
	ev, _ := params["lifecycleEvent"].(string)
	switch ev {
	case "CREATE", "READ", "UPDATE", "DELETE":
	default:
		return nil, badRequest(msgUnsupported)
	}
	t, err := targetOf(params, caller)
	if err != nil {
		return nil, err
	}
	k := kindCron
	switch {
	case truthy(params["fireOnce"]):
		k = kindOnce
	case truthy(params["isInterval"]):
		k = kindInterval
	}
	switch ev {
	case "CREATE":
		return p.create(ctx, t, k, params)
	case "READ":
		return p.read(ctx, t)
	case "UPDATE":
		return p.update(ctx, t, params)
	default:
		return p.delete(ctx, t)
	}
}

// targetOf reads triggerName and authKey. The trigger's namespace is the
// caller's (the feed runs as the trigger's owner); only the last part of
// triggerName counts, so "/_/T" names T of the caller.
func targetOf(params map[string]any, caller server.Identity) (target, error) {
	tn, _ := params["triggerName"].(string)
	name := tn
	if strings.HasPrefix(tn, "/") {
		parts := strings.Split(tn, "/")
		name = ""
		if len(parts) > 2 {
			name = strings.Join(parts[2:], "/")
		}
	}
	if name == "" {
		return target{}, badRequest(msgNoTriggerName)
	}
	key, _ := params["authKey"].(string)
	if key == "" {
		return target{}, &lifecycleError{status: http.StatusBadRequest, msg: msgAuthFailed, detail: "authKey parameter is missing"}
	}
	return target{namespace: caller.Namespace, name: name, authKey: key}, nil
}

// client returns an OpenWhisk client acting with authKey, without retries.
func (p *Provider) client(authKey string, retry whisk.RetryPolicy) (*whisk.Client, error) {
	return whisk.New(p.opts.apiHost, authKey, whisk.WithHTTPClient(p.http), whisk.WithRetry(retry),
		whisk.WithUserAgent("localwhisk-alarms"))
}

// verifyAuth checks that authKey may read the trigger (the owner check).
// A missing trigger is tolerated for DELETE only.
func (p *Provider) verifyAuth(ctx context.Context, t target, isDelete bool) error {
	c, err := p.client(t.authKey, whisk.NoRetry())
	if err != nil {
		return &lifecycleError{status: http.StatusBadRequest, msg: msgAuthFailed, detail: "authKey must have the form uuid:key"}
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err = c.Trigger(ctx, whisk.QName{Namespace: t.namespace, Name: t.name})
	if err == nil {
		return nil
	}
	if st := whisk.HTTPStatus(err); st != 0 {
		if isDelete && st == http.StatusNotFound {
			return nil
		}
		return &lifecycleError{status: st, msg: msgAuthFailed}
	}
	return &lifecycleError{status: http.StatusBadRequest, msg: msgAuthFailed, detail: err.Error()}
}

func (p *Provider) create(ctx context.Context, t target, k kind, params map[string]any) (any, error) {
	now := p.now()
	payload, err := payloadOf(params["trigger_payload"])
	if err != nil {
		return nil, err
	}
	r := &record{ID: t.id(), AuthKey: t.authKey, Namespace: t.namespace, Name: t.name, Payload: payload,
		MaxTriggers: -1, TriggersLeft: -1, Status: activeStatus(now)}
	switch k {
	case kindOnce:
		if !truthy(params["date"]) {
			return nil, badRequest("alarms once trigger feed is missing the date parameter")
		}
		if _, err := checkDate(now, params["date"], "date", nil); err != nil {
			return nil, err
		}
		r.Date = params["date"]
		if r.DeleteAfterFire, err = deleteAfterFireOf(params["deleteAfterFire"]); err != nil {
			return nil, err
		}
	case kindInterval:
		if !truthy(params["minutes"]) {
			return nil, badRequest("interval trigger feed is missing the minutes parameter")
		}
		if r.Minutes, err = parseMinutes(params["minutes"]); err != nil {
			return nil, err
		}
	default:
		if !truthy(params["cron"]) {
			return nil, badRequest("alarms trigger feed is missing the cron parameter")
		}
		if r.Cron, r.Timezone, err = checkCron(now, params["cron"], params["timezone"], p.opts.limitCronFields); err != nil {
			return nil, err
		}
		r.Strict = params["strict"]
	}
	if k != kindOnce {
		if err := p.createDates(now, r, k, params); err != nil {
			return nil, err
		}
	}
	if err := p.verifyAuth(ctx, t, false); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.commitLocked(ctx, r); err != nil {
		return nil, err
	}
	p.log.Info("alarm created", "trigger", t.String())
	return success(), nil
}

// createDates validates startDate, stopDate and maxTriggers of cron and
// interval alarms, in upstream's order.
func (p *Provider) createDates(now time.Time, r *record, k kind, params map[string]any) error {
	if v := params["startDate"]; truthy(v) {
		if _, err := checkDate(now, v, "startDate", nil); err != nil {
			return err
		}
		r.StartDate = v
	} else if k == kindInterval {
		r.StartDate = float64(now.Add(defaultIntervalStart).UnixMilli())
	}
	stop := params["stopDate"]
	switch {
	case truthy(params["maxTriggers"]) && truthy(stop):
		if k == kindInterval {
			return badRequest("maxTriggers is not supported for the interval trigger feed")
		}
		return badRequest("maxTriggers is not allowed when the stopDate parameter is specified")
	case truthy(stop):
		if _, err := checkDate(now, stop, "stopDate", r.StartDate); err != nil {
			return err
		}
		r.StopDate = stop
		if k == kindCron {
			e := &entry{rec: r}
			if err := e.plan(now, p.opts.delayLimit); errors.Is(err, errNextAfterEnd) {
				return badRequest("the first scheduled trigger fire is not until after the stop date")
			}
		}
	}
	if k == kindCron {
		n, err := parseMaxTriggers(params["maxTriggers"])
		if err != nil {
			return err
		}
		r.MaxTriggers, r.TriggersLeft = n, n
	}
	return nil
}

func deleteAfterFireOf(v any) (string, error) {
	if !truthy(v) {
		return "", nil
	}
	s := strings.ToLower(strings.TrimSpace(jsText(v)))
	switch s {
	case "false", "true", "rules":
		return s, nil
	}
	return "", badRequest(msgBadDeleteAfter)
}

func (p *Provider) read(ctx context.Context, t target) (any, error) {
	if err := p.verifyAuth(ctx, t, false); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[t.id()]
	if e == nil {
		return nil, notInDatabase(t.namespace, t.name)
	}
	return e.rec.read(), nil
}

func (p *Provider) update(ctx context.Context, t target, params map[string]any) (any, error) {
	if err := p.verifyAuth(ctx, t, false); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[t.id()]
	if e == nil {
		return nil, notInDatabase(t.namespace, t.name)
	}
	if reason := e.rec.Status.Reason; reason != nil && reason.Kind == ReasonAdmin {
		tn, _ := params["triggerName"].(string)
		return nil, badRequest("%s cannot be updated because it was disabled by an admin.  Please contact support for further assistance", tn)
	}
	now := p.now()
	r := e.rec.clone()
	changed, err := p.applyUpdate(now, r, params)
	if err != nil {
		return nil, err
	}
	if !changed {
		return nil, badRequest(msgNothingToUpdate)
	}
	r.Status = activeStatus(now)
	r.TriggersLeft = r.MaxTriggers
	if err := p.commitLocked(ctx, r); err != nil {
		return nil, err
	}
	p.log.Info("alarm updated", "trigger", t.String())
	return success(), nil
}

// applyUpdate changes r by the supplied parameters that apply to its kind,
// validated as at CREATE. It reports whether anything was supplied.
func (p *Provider) applyUpdate(now time.Time, r *record, params map[string]any) (bool, error) {
	changed := false
	if v := params["trigger_payload"]; truthy(v) {
		payload, err := payloadOf(v)
		if err != nil {
			return false, err
		}
		r.Payload, changed = payload, true
	}
	if r.kind() == kindOnce {
		if v := params["date"]; truthy(v) {
			if _, err := checkDate(now, v, "date", nil); err != nil {
				return false, err
			}
			r.Date, changed = v, true
		}
		if v := params["deleteAfterFire"]; truthy(v) {
			s, err := deleteAfterFireOf(v)
			if err != nil {
				return false, err
			}
			r.DeleteAfterFire, changed = s, true
		}
		return changed, nil
	}
	if r.kind() == kindInterval {
		if v := params["minutes"]; truthy(v) {
			m, err := parseMinutes(v)
			if err != nil {
				return false, err
			}
			r.Minutes, changed = m, true
		}
	} else {
		cronV, tzV := params["cron"], params["timezone"]
		if truthy(cronV) || truthy(tzV) {
			pattern, tz := any(r.Cron), any(r.Timezone)
			if truthy(cronV) {
				pattern = cronV
			}
			if truthy(tzV) {
				tz = tzV
			}
			c, zone, err := checkCron(now, pattern, tz, p.opts.limitCronFields && truthy(cronV))
			if err != nil {
				return false, err
			}
			if truthy(cronV) {
				r.Cron, changed = c, true
			}
			if truthy(tzV) {
				r.Timezone, changed = zone, true
			}
		}
		if v, ok := params["strict"]; ok {
			r.Strict, changed = v, true
		}
	}
	start, stop := params["startDate"], params["stopDate"]
	if truthy(start) {
		if _, err := checkDate(now, start, "startDate", nil); err != nil {
			return false, err
		}
	}
	switch {
	case truthy(stop):
		after := r.StartDate
		if truthy(start) {
			after = start
		}
		if _, err := checkDate(now, stop, "stopDate", after); err != nil {
			return false, err
		}
		r.StopDate, changed = stop, true
	case truthy(start) && truthy(r.StopDate):
		s, _ := parseDate(start)
		if old, ok := parseDate(r.StopDate); ok && !s.Before(old) {
			return false, badRequest("startDate parameter '%s' must be less than the stopDate parameter '%s'", jsText(start), jsText(r.StopDate))
		}
	}
	if truthy(start) {
		r.StartDate, changed = start, true
	}
	return changed, nil
}

func (p *Provider) delete(ctx context.Context, t target) (any, error) {
	if err := p.verifyAuth(ctx, t, true); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[t.id()]
	if e == nil {
		return success(), nil
	}
	if err := p.removeLocked(ctx, e.rec); err != nil {
		return nil, err
	}
	delete(p.entries, t.id())
	p.notify()
	p.log.Info("alarm deleted", "trigger", t.String())
	return success(), nil
}
