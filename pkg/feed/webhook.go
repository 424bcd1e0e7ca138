package feed

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

// MaxDeliveryBytes bounds the body of one delivery to the webhook.
const MaxDeliveryBytes = 1 << 20

// DeliveryResult is what the webhook answers: the delivery's target and
// events, how many active triggers the target has, and how many of them were
// fired (a trigger that selects none of the events is not), refused the fire
// for good, or could not be fired.
type DeliveryResult struct {
	Target   string `json:"target"`
	Events   int    `json:"events"`
	Triggers int    `json:"triggers"`
	Fired    int    `json:"fired"`
	Refused  int    `json:"refused,omitempty"`
	Failed   int    `json:"failed,omitempty"`
}

// Webhook returns the handler of the raw web action that receives the
// deliveries of sub's event source. It checks the bearer token (in
// constant time), turns the delivery into events, and fires every active
// trigger of the target with the events it selects. It answers 2xx only when
// every fire was accepted or refused for good, and 503 otherwise, so that a
// store with a queue delivers again.
func Webhook(sub Subscriber) runtime.Handler {
	return runtime.Web(func(ctx context.Context, r *runtime.WebRequest) (*runtime.WebResponse, error) {
		pr, err := openProvider(ctx, r.Params)
		if err != nil {
			return nil, err
		}
		defer pr.Close()
		if pr.WebhookToken == "" {
			return nil, misconfigured(fmt.Errorf("parameter %q is not bound: deliveries cannot be authenticated", ParamWebhookToken))
		}
		token, ok := strings.CutPrefix(r.Header("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(pr.WebhookToken)) != 1 {
			return runtime.JSONResponse(http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
		}
		if len(r.Body) > MaxDeliveryBytes {
			return runtime.JSONResponse(http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("delivery larger than %d bytes", MaxDeliveryBytes)})
		}
		target, events, err := sub.Receive(ctx, r)
		if err != nil {
			if runtime.HTTPStatus(err) == http.StatusInternalServerError {
				err = &runtime.Error{Status: http.StatusBadRequest, Err: err}
			}
			return nil, err
		}
		res, err := pr.deliver(ctx, sub, target, events)
		if err != nil {
			return nil, err
		}
		status := http.StatusOK
		if res.Failed > 0 {
			status = http.StatusServiceUnavailable
		}
		return runtime.JSONResponse(status, res)
	})
}

// deliver fires the events to every active trigger of target.
func (pr *Provider) deliver(ctx context.Context, sub Subscriber, target string, events []Event) (*DeliveryResult, error) {
	res := &DeliveryResult{Target: target, Events: len(events)}
	doc, err := GetDoc[targetDoc](ctx, pr.Store, targetID(target))
	if errors.Is(err, ErrNotFound) {
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	for _, id := range doc.Triggers {
		rec, err := pr.Store.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if rec.Paused || !rec.Status.Active {
			continue
		}
		res.Triggers++
		t, authKey, err := pr.open(rec)
		if err != nil {
			return nil, err
		}
		firer, err := pr.firer(authKey, rec)
		if err != nil {
			return nil, err
		}
		s := pr.session(sub, rec, t, "", firer.Deliver)
		if err := pr.attachDedup(ctx, s, true, time.Time{}); err != nil {
			return nil, err
		}
		ferr := s.Emit(ctx, events...)
		if ferr == nil {
			ferr = s.Flush(ctx)
		}
		// What was fired stays fired: a failure to record it only risks a
		// duplicate from the reconcile poll.
		derr := pr.saveDedup(context.WithoutCancel(ctx), s, ferr == nil)
		var refused *RefusedError
		switch {
		case ferr == nil:
			if firer.Fired+firer.Unseen > 0 {
				res.Fired++
			}
		case errors.As(ferr, &refused):
			res.Refused++
		default:
			res.Failed++
		}
		if _, err := pr.Store.Update(context.WithoutCancel(ctx), id, func(r *Record) error {
			r.Stats.EventsFired += firer.Fired
			r.Stats.EventsUnseen += firer.Unseen
			r.Stats.EventsDeduped += s.skippedEvents()
			if err := errors.Join(ferr, derr); err != nil {
				r.Stats.Errors++
				r.Stats.LastError = err.Error()
				r.Stats.LastErrorAt = now().UTC()
			}
			if refused != nil {
				r.Disable(ReasonAuto, refused.StatusCode, "Trigger automatically disabled: "+refused.Error())
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return res, nil
}
