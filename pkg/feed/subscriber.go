package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

// Subscriber is a source that pushes its events (the hooks pattern): the
// toolkit registers triggers with it and turns each delivery into fires.
type Subscriber interface {
	Source
	// Target names what trigger t listens to (for S3: endpoint and bucket).
	// The triggers of one target share one registration.
	Target(t *Trigger) string
	// Sync makes the event source deliver what the given triggers of target
	// need, and nothing for target when triggers is empty. changed is the
	// trigger whose CREATE, UPDATE or DELETE asks for the change (a member of
	// triggers, except on removal): its settings and secrets reach the event
	// source even when no trigger is left. Sync must keep whatever else the
	// event source has registered. Calls for one target never overlap.
	Sync(ctx context.Context, target string, changed *Trigger, triggers []*Trigger, d Destination) error
	// Receive turns a delivery into events and the target they concern. An
	// error wrapping ErrInvalidParams (or carrying a 4xx status) means a
	// malformed delivery.
	Receive(ctx context.Context, r *runtime.WebRequest) (target string, events []Event, err error)
}

// Destination is where the event source must deliver: the provider's settings.
type Destination struct {
	ARN   string // the destination configured in the event source, e.g. arn:minio:sqs::WHISKFEED:webhook
	Token string // the bearer token deliveries carry
}

// targetDoc lists the triggers of one target and serializes changes to its
// registration: Lock is taken with a conditional write on _rev.
type targetDoc struct {
	DocMeta
	Type     string   `json:"type"`
	Target   string   `json:"target"`
	Triggers []string `json:"triggers"` // record ids
	Lock     Lease    `json:"lock,omitzero"`
}

const targetType = "target"

func targetID(target string) string {
	sum := sha256.Sum256([]byte(target))
	return "target:" + hex.EncodeToString(sum[:16])
}

// lockTarget takes the registration lock of target, waiting while another
// lifecycle request holds it, and returns the release function.
func (pr *Provider) lockTarget(ctx context.Context, target, holder string) (func() error, error) {
	id := targetID(target)
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, time.Second) {
		_, err := UpsertDoc(ctx, pr.Store, id, func(d *targetDoc) error {
			if d.Lock.Held(now()) && d.Lock.Holder != holder {
				return ErrLeaseHeld
			}
			d.Type, d.Target = targetType, target
			d.Lock = Lease{Holder: holder, Until: now().Add(50 * time.Second).UnixMilli()}
			return nil
		})
		if err == nil {
			return func() error {
				_, err := UpdateDoc(context.WithoutCancel(ctx), pr.Store, id, func(d *targetDoc) error {
					if d.Lock.Holder != holder {
						return ErrSkip
					}
					d.Lock = Lease{}
					// A target without triggers leaves nothing behind.
					d.Deleted = len(d.Triggers) == 0
					return nil
				})
				return err
			}, nil
		}
		if !errors.Is(err, ErrLeaseHeld) {
			return nil, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for the registration of %s: %w", target, ctx.Err())
		case <-t.C:
		}
	}
}

// setMembership adds (or removes) record id, of trigger t, to target's
// triggers, then brings the event source's registration in line with every
// trigger of the target, under the target's lock.
func (pr *Provider) setMembership(ctx context.Context, sub Subscriber, target string, t *Trigger, recordID string, member bool) error {
	holder := fmt.Sprintf("%s@%d", recordID, time.Now().UnixNano())
	release, err := pr.lockTarget(ctx, target, holder)
	if err != nil {
		return err
	}
	changed := false
	doc, err := UpdateDoc(ctx, pr.Store, targetID(target), func(d *targetDoc) error {
		i := slices.Index(d.Triggers, recordID)
		switch {
		case member && i < 0:
			d.Triggers = append(d.Triggers, recordID)
			slices.Sort(d.Triggers)
		case !member && i >= 0:
			d.Triggers = slices.Delete(d.Triggers, i, i+1)
		default:
			return ErrSkip
		}
		changed = true
		return nil
	})
	if err != nil {
		return errors.Join(err, release())
	}
	if !changed && !member {
		return release() // not registered: nothing to change
	}
	triggers, err := pr.targetTriggers(ctx, doc.Triggers)
	if err == nil {
		err = sub.Sync(ctx, target, t, triggers, Destination{ARN: pr.NotificationARN, Token: pr.WebhookToken})
	}
	if err != nil && member {
		// Undo the membership: the trigger is not registered.
		_, uerr := UpdateDoc(context.WithoutCancel(ctx), pr.Store, targetID(target), func(d *targetDoc) error {
			d.Triggers = slices.DeleteFunc(d.Triggers, func(s string) bool { return s == recordID })
			return nil
		})
		err = errors.Join(err, uerr)
	}
	return errors.Join(err, release())
}

// targetTriggers loads the triggers of the given records, with secrets.
func (pr *Provider) targetTriggers(ctx context.Context, ids []string) ([]*Trigger, error) {
	var out []*Trigger
	for _, id := range ids {
		rec, err := pr.Store.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		t, _, err := pr.open(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// open returns the trigger of rec with its source secrets, and the owner's key.
func (pr *Provider) open(rec *Record) (*Trigger, string, error) {
	secrets, err := rec.OpenSecrets(pr.Keyring)
	if err != nil {
		return nil, "", fmt.Errorf("open the secrets of %s/%s: %w", rec.Namespace, rec.Name, err)
	}
	authKey := secrets[secretAuthKey]
	delete(secrets, secretAuthKey)
	return &Trigger{Namespace: rec.Namespace, Name: rec.Name, Kind: rec.Kind, settings: rec.Config, secrets: secrets}, authKey, nil
}
