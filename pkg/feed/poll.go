package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

// ParamRecord is the parameter the alarm trigger's payload gives the poll
// action: the id of the record to poll.
const ParamRecord = "record"

// disableAfter is how many consecutive failed polls with a permanent source
// error (a SourceError with Permanent set) disable a feed.
const disableAfter = 3

// SourceError is an error of the event source. Permanent errors (the bucket
// is gone, access denied) disable the feed after three consecutive polls;
// others are retried on the next tick.
type SourceError struct {
	Permanent bool
	Err       error
}

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// HTTPStatus makes source failures answer 502.
func (e *SourceError) HTTPStatus() int { return http.StatusBadGateway }

// PollResult is what the poll action answers.
type PollResult struct {
	Trigger  string `json:"trigger"`
	Skipped  string `json:"skipped,omitempty"`
	Events   int64  `json:"events"`
	Objects  int64  `json:"objects,omitempty"`
	Duration int64  `json:"duration_ms"`
	Error    string `json:"error,omitempty"`
}

// Poll returns the handler of the poll action, invoked by the alarm rule of
// each polling trigger with the record id in its payload.
func Poll(sources ...Poller) runtime.Handler {
	return runtime.HandlerFunc(func(ctx context.Context, raw json.RawMessage) (any, error) {
		params := map[string]any{}
		if err := runtime.DecodeParams(raw, &params); err != nil {
			return nil, err
		}
		pr, err := openProvider(ctx, params)
		if err != nil {
			return nil, err
		}
		defer pr.Close()
		p := NewParams(params)
		id := p.Required(ParamRecord, "the id of the trigger record to poll")
		if err := p.Err(); err != nil {
			return nil, asStatus(err)
		}
		return pr.poll(ctx, sources, id)
	})
}

func (pr *Provider) poll(ctx context.Context, sources []Poller, id string) (*PollResult, error) {
	start := now()
	res := &PollResult{Trigger: id}
	rec, err := pr.Store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		res.Skipped = "no such record"
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	res.Trigger = rec.Namespace + "/" + rec.Name
	if rec.Paused || !rec.Status.Active {
		res.Skipped = "inactive"
		return res, nil
	}
	var src Poller
	for _, s := range sources {
		if s.Kind() == rec.Kind {
			src = s
		}
	}
	if src == nil {
		return nil, fmt.Errorf("poll %s: no poller for kind %q", id, rec.Kind)
	}
	if _, polled := pollSchedule(src, &Trigger{Kind: rec.Kind, settings: rec.Config}); !polled {
		res.Skipped = "not polled"
		return res, nil
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = start.Add(60 * time.Second)
	}
	budget := pollTimeout(deadline, start)
	act, _ := runtime.ActivationFrom(ctx)
	holder := act.ActivationID
	if holder == "" {
		holder = fmt.Sprintf("poll-%d", start.UnixNano())
	}
	rec, err = pr.Store.AcquireLease(ctx, id, holder, budget+5*time.Second)
	if errors.Is(err, ErrLeaseHeld) {
		res.Skipped = "another poll is running"
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	if rec.Paused || !rec.Status.Active {
		// Paused or disabled between the first read and the lease.
		res.Skipped = "inactive"
		return res, pr.Store.ReleaseLease(context.WithoutCancel(ctx), id, holder)
	}
	secrets, err := rec.OpenSecrets(pr.Keyring)
	if err != nil {
		return nil, errors.Join(err, pr.Store.ReleaseLease(context.WithoutCancel(ctx), id, holder))
	}
	firer, err := pr.firer(secrets[secretAuthKey], rec)
	if err != nil {
		return nil, errors.Join(err, pr.Store.ReleaseLease(context.WithoutCancel(ctx), id, holder))
	}
	delete(secrets, secretAuthKey)
	t := &Trigger{Namespace: rec.Namespace, Name: rec.Name, Kind: rec.Kind, settings: rec.Config, secrets: secrets}
	s := pr.session(src, rec, t, holder, firer.Deliver)
	if err := pr.attachDedup(ctx, s, false, start); err != nil {
		return nil, errors.Join(err, pr.Store.ReleaseLease(context.WithoutCancel(ctx), id, holder))
	}

	pctx, cancel := context.WithTimeout(ctx, budget)
	pollErr := src.Poll(pctx, s)
	cancel()
	if pollErr == nil {
		pollErr = s.Flush(ctx)
	}
	if err := pr.saveDedup(context.WithoutCancel(ctx), s, pollErr == nil); err != nil {
		pollErr = errors.Join(pollErr, fmt.Errorf("record the events fired: %w", err))
	}

	var refused *RefusedError
	disabled := errors.As(pollErr, &refused)
	store := context.WithoutCancel(ctx)
	elapsed := now().Sub(start)
	autoDisabled := false // set when this poll disables the feed
	updated, err := pr.Store.UpdateHeld(store, id, holder, func(r *Record) error {
		autoDisabled = false
		s.apply(r)
		r.Lease = Lease{}
		st := &r.Stats
		st.Polls++
		st.LastPollAt = start.UTC()
		st.LastPollMS = elapsed.Milliseconds()
		st.EventsFired += firer.Fired
		st.EventsUnseen += firer.Unseen
		st.EventsDeduped += s.skippedEvents()
		if s.hasObjs {
			st.Objects = s.objects
		}
		if pollErr == nil {
			st.ConsecutiveFailures = 0
			return nil
		}
		st.Errors++
		st.ConsecutiveFailures++
		st.LastError = pollErr.Error()
		st.LastErrorAt = now().UTC()
		var se *SourceError
		switch {
		case disabled:
			r.Disable(ReasonAuto, refused.StatusCode, "Trigger automatically disabled: "+refused.Error())
			autoDisabled = true
		case errors.As(pollErr, &se) && se.Permanent && st.ConsecutiveFailures >= disableAfter:
			r.Disable(ReasonAuto, http.StatusBadGateway, fmt.Sprintf("Trigger automatically disabled after %d failed polls: %v", st.ConsecutiveFailures, se))
			autoDisabled = true
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(pollErr, err)
	}
	res.Events = firer.Fired + firer.Unseen
	res.Objects = updated.Stats.Objects
	res.Duration = elapsed.Milliseconds()
	if pollErr != nil {
		res.Error = pollErr.Error()
	}
	if autoDisabled {
		// A disabled feed stops polling: its alarm and rule go.
		if err := pr.deleteAlarm(store, updated.Alarm); err != nil {
			return res, err
		}
		if _, err := pr.Store.Update(store, id, func(r *Record) error { r.Alarm = Alarm{}; return nil }); err != nil {
			return res, err
		}
	}
	if s.committed && s.snapshot.Chunks != nil {
		if _, err := pr.Store.CollectChunks(store, id); err != nil {
			return res, err
		}
	}
	return res, nil
}
