package feed

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

// Local runs sources against a Store without OpenWhisk: records are created
// without alarm or owner check, and fires go to Fire. Tests, benchmarks and
// tools use it to drive a source exactly as the poll action does (leases,
// cursors, snapshots, statistics), in process.
type Local struct {
	Store   *Store
	Keyring *Keyring
	// Fire delivers one payload to trigger "namespace/name"; unseen means
	// accepted with no rule enabled (a 204). Errors carrying an HTTP status
	// (HTTPStatus() int) are classified as the platform's answers are.
	Fire func(ctx context.Context, trigger string, payload any) (unseen bool, err error)
	// Destination is where subscribers register deliveries.
	Destination Destination
}

func (l *Local) provider() *Provider {
	return &Provider{Store: l.Store, Keyring: l.Keyring, fireVia: l.Fire,
		NotificationARN: l.Destination.ARN, WebhookToken: l.Destination.Token}
}

// Create reads params as CREATE does, validates them with the source,
// stores the record of trigger namespace/name and records the baseline.
func (l *Local) Create(ctx context.Context, src Source, namespace, name string, params map[string]any) (*Record, error) {
	c, err := configure(src, params)
	if err != nil {
		return nil, err
	}
	t, err := NewTrigger(namespace, name, src.Kind(), c.settings, c.secrets)
	if err != nil {
		return nil, err
	}
	if err := validate(ctx, src, t); err != nil {
		return nil, err
	}
	pr := l.provider()
	rec := NewRecord(src.Kind(), namespace, name)
	req := &request{src: src, authKey: "local:local"}
	if err := pr.fill(rec, req, c); err != nil {
		return nil, err
	}
	if err := pr.Store.Create(ctx, rec); err != nil {
		return nil, err
	}
	if sub, ok := src.(Subscriber); ok {
		if err := pr.setMembership(ctx, sub, sub.Target(t), t, rec.ID, true); err != nil {
			return nil, errors.Join(err, pr.Store.Delete(context.WithoutCancel(ctx), rec.ID))
		}
	}
	if p, ok := src.(Poller); ok && c.polled {
		if err := pr.baseline(ctx, p, rec, t); err != nil {
			return nil, errors.Join(err, pr.teardown(context.WithoutCancel(ctx), src, rec))
		}
	}
	return pr.Store.Get(ctx, rec.ID)
}

// Delete removes record id as DELETE does: its registration with the event
// source, its snapshot and the record. A missing record is fine.
func (l *Local) Delete(ctx context.Context, src Source, id string) error {
	rec, err := l.Store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return l.provider().teardown(ctx, src, rec)
}

// Deliver hands a delivery to sub and fires the triggers of its target, as
// the webhook action does after checking the token.
func (l *Local) Deliver(ctx context.Context, sub Subscriber, r *runtime.WebRequest) (*DeliveryResult, error) {
	target, events, err := sub.Receive(ctx, r)
	if err != nil {
		return nil, err
	}
	return l.provider().deliver(ctx, sub, target, events)
}

// Poll polls the record id once with src, as the poll action does.
func (l *Local) Poll(ctx context.Context, src Poller, id string) (*PollResult, error) {
	return l.provider().poll(ctx, []Poller{src}, id)
}

// Secrets returns the secrets sealed in record id, for checks.
func (l *Local) Secrets(ctx context.Context, id string) (map[string]string, error) {
	rec, err := l.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	s, err := rec.OpenSecrets(l.Keyring)
	if err != nil {
		return nil, fmt.Errorf("open secrets of %s: %w", id, err)
	}
	return maps.Clone(s), nil
}
