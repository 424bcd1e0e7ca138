package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// Parameters of every lifecycle request (the feed protocol), and the one the
// public feed actions add to name the source.
const (
	ParamEvent   = "lifecycleEvent"
	ParamTrigger = "triggerName"
	ParamAuthKey = "authKey"
	ParamSource  = "whiskfeed_source"
)

// secretAuthKey is the name under which the owner's key is sealed.
const secretAuthKey = "authKey"

// Lifecycle returns the handler of the private lifecycle web action, which
// does the real work of every feed action of the given sources: CREATE, READ,
// UPDATE, DELETE, PAUSE and UNPAUSE. Errors answer with the status of
// runtime.HTTPStatus and {"error": message}.
func Lifecycle(sources ...Source) runtime.Handler {
	return runtime.Web(func(ctx context.Context, r *runtime.WebRequest) (*runtime.WebResponse, error) {
		res, err := lifecycle(ctx, sources, r.Params)
		if err != nil {
			return nil, err
		}
		return runtime.JSONResponse(http.StatusOK, res)
	})
}

// request is a decoded lifecycle request.
type request struct {
	event   string
	trigger whisk.QName
	authKey string
	src     Source
	params  map[string]any // the source's and the toolkit's parameters
	owner   *whisk.Client
}

func badRequest(format string, args ...any) error {
	return &runtime.Error{Status: http.StatusBadRequest, Err: fmt.Errorf(format, args...)}
}

// asStatus gives parameter errors their 400.
func asStatus(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrInvalidParams) && runtime.HTTPStatus(err) == http.StatusInternalServerError {
		return &runtime.Error{Status: http.StatusBadRequest, Err: err}
	}
	return err
}

func lifecycle(ctx context.Context, sources []Source, params map[string]any) (any, error) {
	pr, err := openProvider(ctx, params)
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	req, err := decodeRequest(ctx, pr, sources, params)
	if err != nil {
		return nil, asStatus(err)
	}
	var res any
	switch req.event {
	case "CREATE":
		res, err = pr.create(ctx, req)
	case "READ":
		res, err = pr.read(ctx, req)
	case "UPDATE":
		res, err = pr.update(ctx, req)
	case "DELETE":
		res, err = pr.delete(ctx, req)
	case "PAUSE", "UNPAUSE":
		res, err = pr.pause(ctx, req, req.event == "PAUSE")
	}
	return res, asStatus(err)
}

func decodeRequest(ctx context.Context, pr *Provider, sources []Source, params map[string]any) (*request, error) {
	user := stripProvider(params)
	p := NewParams(user)
	event := strings.ToUpper(p.Required(ParamEvent, "one of CREATE, READ, UPDATE, DELETE, PAUSE, UNPAUSE"))
	name := p.Required(ParamTrigger, "the trigger's fully qualified name, /namespace/trigger")
	authKey := p.Secret(ParamAuthKey)
	kind := p.String(ParamSource, "")
	if err := p.Err(); err != nil {
		return nil, err
	}
	switch event {
	case "CREATE", "READ", "UPDATE", "DELETE", "PAUSE", "UNPAUSE":
	default:
		return nil, &ParamError{Name: ParamEvent, Expected: "one of CREATE, READ, UPDATE, DELETE, PAUSE, UNPAUSE", Got: event}
	}
	if authKey == "" {
		return nil, &ParamError{Name: ParamAuthKey, Expected: `the trigger owner's key, "uuid:key"`}
	}
	req := &request{event: event, authKey: authKey}
	for _, s := range sources {
		if kind == "" && len(sources) == 1 || s.Kind() == kind {
			req.src = s
		}
	}
	if req.src == nil {
		var kinds []string
		for _, s := range sources {
			kinds = append(kinds, s.Kind())
		}
		return nil, &ParamError{Name: ParamSource, Expected: "one of " + strings.Join(kinds, ", "), Got: kind}
	}
	q, err := whisk.ParseQName(name)
	if err != nil || q.Package != "" {
		return nil, &ParamError{Name: ParamTrigger, Expected: "a trigger name such as /namespace/trigger", Got: name}
	}
	owner, err := whisk.New(pr.APIHost, authKey)
	if err != nil {
		return nil, &ParamError{Name: ParamAuthKey, Expected: `a key of the form "uuid:key"`, Got: secretValue{}}
	}
	if q.Namespace == "" || q.Namespace == whisk.DefaultNamespace {
		ns, err := owner.Namespace(ctx)
		if err != nil {
			return nil, fmt.Errorf("resolve the namespace of %s: %w", name, err)
		}
		q.Namespace = ns
	}
	req.trigger, req.owner = q, owner
	for _, k := range []string{ParamEvent, ParamTrigger, ParamAuthKey, ParamSource} {
		delete(user, k)
	}
	req.params = user
	return req, nil
}

// checkOwner asks OpenWhisk, with the caller's key, for the trigger: only its
// owner can read it. A missing trigger is allowed when allowMissing is set.
func (req *request) checkOwner(ctx context.Context, allowMissing bool) (exists bool, err error) {
	_, err = req.owner.Trigger(ctx, req.trigger)
	switch {
	case err == nil:
		return true, nil
	case allowMissing && whisk.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("check trigger %s with the given authKey: %w", req.trigger, err)
	}
}

// configured is a source configuration with the toolkit's settings.
type configured struct {
	settings  map[string]any
	secrets   map[string]string
	unknown   []string
	schedule  Schedule
	polled    bool // the trigger is polled (an alarm runs the poll action)
	batchSize int
}

// configure reads the toolkit's and the source's parameters.
func configure(src Source, params map[string]any) (*configured, error) {
	p := NewParams(params)
	c := &configured{batchSize: p.Int(ParamBatchSize, 1, 1, 1000)}
	_, polls := src.(Poller)
	sched, ownSchedule := src.(PollScheduler)
	if polls && !ownSchedule {
		c.schedule, c.polled = readSchedule(p), true
	}
	settings, err := src.Configure(p)
	if err != nil {
		return nil, err
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(settings)
	if err != nil {
		return nil, fmt.Errorf("encode settings: %w", err)
	}
	c.settings = map[string]any{}
	if err := json.Unmarshal(raw, &c.settings); err != nil {
		return nil, fmt.Errorf("settings of source %s must encode as a JSON object: %w", src.Kind(), err)
	}
	c.settings[ParamBatchSize] = c.batchSize
	switch {
	case polls && ownSchedule:
		// The source keeps its schedule in its own settings.
		c.schedule, c.polled = sched.PollSchedule(&Trigger{Kind: src.Kind(), settings: raw})
	case c.schedule.Cron != "":
		c.settings[ParamCron] = c.schedule.Cron
	case c.schedule.Interval != 0:
		c.settings[ParamInterval] = c.schedule.Interval
	}
	c.secrets = p.secretValues()
	c.unknown = p.Unknown()
	return c, nil
}

func (c *configured) trigger(req *request) *Trigger {
	t, _ := NewTrigger(req.trigger.Namespace, req.trigger.Name, req.src.Kind(), c.settings, c.secrets)
	return t
}

// validate runs the source's own checks; their failures are the user's to fix.
func validate(ctx context.Context, src Source, t *Trigger) error {
	v, ok := src.(Validator)
	if !ok {
		return nil
	}
	if err := v.Validate(ctx, t); err != nil {
		if runtime.HTTPStatus(err) == http.StatusInternalServerError {
			return &runtime.Error{Status: http.StatusBadRequest, Err: err}
		}
		return err
	}
	return nil
}

func (pr *Provider) create(ctx context.Context, req *request) (any, error) {
	if _, err := req.checkOwner(ctx, false); err != nil {
		return nil, err
	}
	c, err := configure(req.src, req.params)
	if err != nil {
		return nil, err
	}
	t := c.trigger(req)
	if err := validate(ctx, req.src, t); err != nil {
		return nil, err
	}
	id := RecordID(req.trigger.Namespace, req.trigger.Name)
	// CREATE of a trigger that already has a record adopts it: wskdeploy
	// redeploys and retried CREATEs land here. Its alarm is replaced.
	if old, err := pr.Store.Get(ctx, id); err == nil {
		if err := pr.teardown(ctx, req.src, old); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	rec := NewRecord(req.src.Kind(), req.trigger.Namespace, req.trigger.Name)
	if err := pr.fill(rec, req, c); err != nil {
		return nil, err
	}
	if err := pr.Store.Create(ctx, rec); err != nil {
		return nil, err
	}
	undo := func(cause error) error {
		cleanup := context.WithoutCancel(ctx)
		if err := pr.teardown(cleanup, req.src, rec); err != nil {
			return errors.Join(cause, fmt.Errorf("undo: %w", err))
		}
		return cause
	}
	if sub, ok := req.src.(Subscriber); ok {
		if err := pr.setMembership(ctx, sub, sub.Target(t), t, id, true); err != nil {
			return nil, undo(fmt.Errorf("register with the event source: %w", err))
		}
	}
	if poller, ok := req.src.(Poller); ok && c.polled {
		if err := pr.baseline(ctx, poller, rec, t); err != nil {
			return nil, undo(err)
		}
		alarm, err := pr.createAlarm(ctx, rec, c.schedule)
		if err != nil {
			return nil, undo(err)
		}
		if _, err := pr.Store.Update(ctx, id, func(r *Record) error { r.Alarm = alarm; return nil }); err != nil {
			return nil, undo(errors.Join(err, pr.deleteAlarm(context.WithoutCancel(ctx), alarm)))
		}
	}
	return map[string]any{"ok": true, "trigger": req.trigger.String(), "kind": rec.Kind, "config": c.settings}, nil
}

// fill sets the configuration and sealed secrets of rec.
func (pr *Provider) fill(rec *Record, req *request, c *configured) error {
	raw, err := json.Marshal(c.settings)
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}
	rec.Config = raw
	rec.UnknownParams = c.unknown
	secrets := maps.Clone(c.secrets)
	secrets[secretAuthKey] = req.authKey
	return rec.SealSecrets(pr.Keyring, secrets)
}

// baseline records the poller's starting state, within CREATE's time budget.
func (pr *Provider) baseline(ctx context.Context, p Poller, rec *Record, t *Trigger) error {
	b, ok := p.(Baseliner)
	if !ok {
		return nil
	}
	// The baseline holds the poll lease, as a poll does: its checkpoints are
	// fenced by it, and a poll of the same trigger cannot interleave.
	holder := fmt.Sprintf("baseline-%d", now().UnixNano())
	ttl := 2 * time.Minute
	if d, ok := ctx.Deadline(); ok {
		ttl = time.Until(d) + 5*time.Second
	}
	var err error
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		rec, err = pr.Store.AcquireLease(ctx, rec.ID, holder, ttl)
		if !errors.Is(err, ErrLeaseHeld) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("record the starting state: wait for the running poll: %w", ctx.Err())
		case <-time.After(delay):
		}
	}
	if err != nil {
		return fmt.Errorf("record the starting state: %w", err)
	}
	s := pr.session(p, rec, t, holder, nil)
	s.baseline = true
	if err := b.Baseline(ctx, s); err != nil {
		return errors.Join(fmt.Errorf("record the starting state: %w", err),
			pr.Store.ReleaseLease(context.WithoutCancel(ctx), rec.ID, holder))
	}
	_, err = pr.Store.UpdateHeld(context.WithoutCancel(ctx), rec.ID, holder, func(r *Record) error {
		s.apply(r)
		r.Lease = Lease{}
		if s.hasObjs {
			r.Stats.Objects = s.objects
		}
		return nil
	})
	return err
}

// session builds a poll session for rec.
func (pr *Provider) session(src Source, rec *Record, t *Trigger, holder string, fire func(context.Context, any, int) error) *Session {
	var cfg struct {
		BatchSize int `json:"batch_size"`
	}
	_ = json.Unmarshal(rec.Config, &cfg)
	return &Session{
		src:        src,
		Trigger:    t,
		store:      pr.Store,
		rec:        rec,
		holder:     holder,
		fire:       fire,
		batchSize:  max(cfg.BatchSize, 1),
		cursor:     rec.Cursor,
		snapshot:   rec.Snapshot,
		generation: rec.Snapshot.Generation + 1,
	}
}

// load returns the record of the request's trigger, checking that the
// caller's key is the one stored with it.
func (pr *Provider) load(ctx context.Context, req *request) (*Record, map[string]string, error) {
	rec, err := pr.Store.Get(ctx, RecordID(req.trigger.Namespace, req.trigger.Name))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil, &runtime.Error{Status: http.StatusNotFound, Err: fmt.Errorf("trigger %s has no %s feed: %w", req.trigger, req.src.Kind(), err)}
		}
		return nil, nil, err
	}
	if rec.Kind != req.src.Kind() {
		return nil, nil, badRequest("trigger %s is connected to the %s feed, not %s", req.trigger, rec.Kind, req.src.Kind())
	}
	secrets, err := rec.OpenSecrets(pr.Keyring)
	if err != nil {
		return nil, nil, fmt.Errorf("open the secrets of %s: %w", req.trigger, err)
	}
	return rec, secrets, nil
}

// ReadResult is what READ answers: what `wsk trigger get` shows.
type ReadResult struct {
	Trigger       string          `json:"trigger"`
	Kind          string          `json:"kind"`
	Config        json.RawMessage `json:"config"`
	UnknownParams []string        `json:"unknown_params,omitempty"`
	Status        Status          `json:"status"`
	Stats         Stats           `json:"stats"`
	Paused        bool            `json:"paused,omitempty"`
}

func (pr *Provider) read(ctx context.Context, req *request) (any, error) {
	if _, err := req.checkOwner(ctx, false); err != nil {
		return nil, err
	}
	rec, _, err := pr.load(ctx, req)
	if err != nil {
		return nil, err
	}
	return ReadResult{Trigger: req.trigger.String(), Kind: rec.Kind, Config: rec.Config, UnknownParams: rec.UnknownParams,
		Status: rec.Status, Stats: rec.Stats, Paused: rec.Paused}, nil
}

func (pr *Provider) update(ctx context.Context, req *request) (any, error) {
	if _, err := req.checkOwner(ctx, false); err != nil {
		return nil, err
	}
	rec, secrets, err := pr.load(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(req.params) == 0 {
		return nil, badRequest("no updatable parameters were specified")
	}
	if !rec.Status.Active && rec.Status.Reason != nil && rec.Status.Reason.Kind == ReasonAdmin {
		return nil, &runtime.Error{Status: http.StatusForbidden, Err: fmt.Errorf("trigger %s was disabled by the provider: %s", req.trigger, rec.Status.Reason.Message)}
	}
	// The stored settings are keyed by parameter name, so the new parameters
	// are read over them, with the stored secrets.
	merged := map[string]any{}
	_ = json.Unmarshal(rec.Config, &merged)
	for k, v := range secrets {
		if k != secretAuthKey {
			merged[k] = v
		}
	}
	if _, ok := req.params[ParamCron]; ok {
		delete(merged, ParamInterval)
	}
	if _, ok := req.params[ParamInterval]; ok {
		delete(merged, ParamCron)
	}
	maps.Copy(merged, req.params)
	c, err := configure(req.src, merged)
	if err != nil {
		return nil, err
	}
	t := c.trigger(req)
	if err := validate(ctx, req.src, t); err != nil {
		return nil, err
	}
	var oldCfg map[string]any
	_ = json.Unmarshal(rec.Config, &oldCfg)
	old, wasPolled := pollSchedule(req.src, &Trigger{Kind: rec.Kind, settings: rec.Config})
	// Turning a source's poll on or off starts its state afresh.
	resetState := stateKeyChanged(req.src, oldCfg, c.settings) || wasPolled != c.polled
	needAlarm := c.polled && (old != c.schedule || rec.Alarm == (Alarm{}))
	dropAlarm := !c.polled && rec.Alarm != (Alarm{})
	if needAlarm || dropAlarm {
		if err := pr.deleteAlarm(ctx, rec.Alarm); err != nil {
			return nil, err
		}
	}
	updated, err := pr.Store.Update(ctx, rec.ID, func(r *Record) error {
		if err := pr.fill(r, req, c); err != nil {
			return err
		}
		if needAlarm || dropAlarm {
			r.Alarm = Alarm{}
		}
		if resetState {
			r.Cursor, r.Snapshot = nil, Snapshot{Generation: r.Snapshot.Generation}
		}
		if !r.Status.Active && !r.Paused {
			r.Enable()
			r.Stats.ConsecutiveFailures = 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sub, ok := req.src.(Subscriber); ok {
		oldT, _, err := pr.open(rec)
		if err != nil {
			return nil, err
		}
		if before, after := sub.Target(oldT), sub.Target(t); before != after {
			if err := pr.setMembership(ctx, sub, before, oldT, rec.ID, false); err != nil {
				return nil, err
			}
		}
		if err := pr.setMembership(ctx, sub, sub.Target(t), t, rec.ID, true); err != nil {
			return nil, fmt.Errorf("register with the event source: %w", err)
		}
	}
	if resetState {
		if _, err := pr.Store.CollectChunks(ctx, rec.ID); err != nil {
			return nil, err
		}
		if _, ok := req.src.(Deduper); ok {
			if err := pr.Store.DeleteDoc(ctx, deliveredID(rec.ID)); err != nil {
				return nil, err
			}
		}
		if p, ok := req.src.(Poller); ok && c.polled {
			if err := pr.baseline(ctx, p, updated, t); err != nil {
				return nil, err
			}
		}
	}
	if needAlarm {
		alarm, err := pr.createAlarm(ctx, updated, c.schedule)
		if err != nil {
			return nil, err
		}
		if _, err := pr.Store.Update(ctx, rec.ID, func(r *Record) error { r.Alarm = alarm; return nil }); err != nil {
			return nil, errors.Join(err, pr.deleteAlarm(context.WithoutCancel(ctx), alarm))
		}
		if updated.Paused {
			if err := pr.setAlarmActive(ctx, alarm, false); err != nil {
				return nil, err
			}
		}
	}
	return map[string]any{"ok": true, "trigger": req.trigger.String(), "config": c.settings}, nil
}

// StateKeyer is implemented by sources whose stored state (cursor,
// snapshot) depends on some settings: when one of StateKeys changes in an
// UPDATE, the state is dropped and a new baseline is recorded.
type StateKeyer interface {
	StateKeys() []string
}

func stateKeyChanged(src Source, old, new map[string]any) bool {
	k, ok := src.(StateKeyer)
	if !ok {
		return false
	}
	for _, key := range k.StateKeys() {
		a, _ := json.Marshal(old[key])
		b, _ := json.Marshal(new[key])
		if string(a) != string(b) {
			return true
		}
	}
	return false
}

func (pr *Provider) delete(ctx context.Context, req *request) (any, error) {
	exists, err := req.checkOwner(ctx, true)
	if err != nil {
		return nil, err
	}
	id := RecordID(req.trigger.Namespace, req.trigger.Name)
	rec, err := pr.Store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return map[string]any{"ok": true, "trigger": req.trigger.String(), "deleted": false}, nil
	}
	if err != nil {
		return nil, err
	}
	if !exists {
		// The trigger is gone: only the key stored with the record may
		// remove what is left of it.
		secrets, err := rec.OpenSecrets(pr.Keyring)
		if err != nil || secrets[secretAuthKey] != req.authKey {
			return nil, &runtime.Error{Status: http.StatusForbidden, Err: fmt.Errorf("trigger %s does not exist and the authKey is not the one that created its feed", req.trigger)}
		}
	}
	if err := pr.teardown(ctx, req.src, rec); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "trigger": req.trigger.String(), "deleted": true}, nil
}

// teardown removes the registration with the event source, the alarm, the
// rule, the snapshot chunks and the record.
func (pr *Provider) teardown(ctx context.Context, src Source, rec *Record) error {
	if sub, ok := src.(Subscriber); ok && rec.Kind == src.Kind() {
		t, _, err := pr.open(rec)
		if err != nil {
			return err
		}
		if err := pr.setMembership(ctx, sub, sub.Target(t), t, rec.ID, false); err != nil {
			return fmt.Errorf("unregister %s: %w", rec.ID, err)
		}
	}
	if _, ok := src.(Deduper); ok {
		if err := pr.Store.DeleteDoc(ctx, deliveredID(rec.ID)); err != nil {
			return err
		}
	}
	if err := pr.deleteAlarm(ctx, rec.Alarm); err != nil {
		return err
	}
	return pr.Store.Delete(ctx, rec.ID)
}

func (pr *Provider) pause(ctx context.Context, req *request, pause bool) (any, error) {
	if _, err := req.checkOwner(ctx, false); err != nil {
		return nil, err
	}
	rec, _, err := pr.load(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := pr.setAlarmActive(ctx, rec.Alarm, !pause); err != nil {
		return nil, err
	}
	updated, err := pr.Store.Update(ctx, rec.ID, func(r *Record) error {
		r.Paused = pause
		switch {
		case pause:
			r.Disable(ReasonUser, 0, "paused by the trigger's owner")
		case r.Status.Reason != nil && r.Status.Reason.Kind == ReasonUser:
			r.Enable()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "trigger": req.trigger.String(), "status": updated.Status, "paused": updated.Paused}, nil
}

// now is the toolkit's clock.
var now = time.Now
