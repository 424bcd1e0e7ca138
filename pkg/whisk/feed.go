package whisk

import (
	"context"
	"fmt"
	"maps"
	"time"
)

const feedAnnotation = "feed"

// rollbackTimeout bounds the clean-up after a failed feed CREATE, which runs
// even when the caller's context has ended: a blocking feed call may take the
// server's full 60 s wait.
const rollbackTimeout = 65 * time.Second

// LifecycleEvent is the lifecycleEvent parameter of a feed action.
type LifecycleEvent string

// Feed lifecycle events. No standard client sends PAUSE or UNPAUSE.
const (
	FeedCreate  LifecycleEvent = "CREATE"
	FeedRead    LifecycleEvent = "READ"
	FeedUpdate  LifecycleEvent = "UPDATE"
	FeedDelete  LifecycleEvent = "DELETE"
	FeedPause   LifecycleEvent = "PAUSE"
	FeedUnpause LifecycleEvent = "UNPAUSE"
)

// InvokeFeed invokes a feed action the way wsk does: blocking, returning the
// activation, with params plus lifecycleEvent, triggerName (the trigger
// qualified with the client's namespace, usually "/_/T") and authKey (the
// client's key). It neither reads nor writes the trigger.
func (c *Client) InvokeFeed(ctx context.Context, feed QName, event LifecycleEvent, trigger QName, params map[string]any) (*Activation, error) {
	t := c.qualify(trigger)
	if err := checkName("invoke feed", t, false); err != nil {
		return nil, err
	}
	body := make(map[string]any, len(params)+3)
	maps.Copy(body, params)
	body["lifecycleEvent"] = string(event)
	body["triggerName"] = t.String()
	body["authKey"] = c.authKey
	return c.invokeActivation(ctx, "invoke feed "+string(event)+" of", feed, body)
}

// CreateFeedTrigger creates trigger bound to feed as `wsk trigger create T
// --feed F -p ...` does: it creates the trigger (without overwrite, so an
// existing trigger gives 409 and the feed is not called) with the user's
// annotations and a "feed" annotation holding the feed's qualified name
// ("/_/pkg/feed" for a relative name), then invokes the feed with CREATE and
// params. The params are not stored on the trigger. It returns the feed's
// activation.
//
// When the feed fails (an *ActionError, a *PendingError because it outlived
// the server's wait, or any other error) the trigger is rolled back like
// `wsk trigger delete`: the feed is invoked with DELETE (with the same params,
// as wsk does; its failure is ignored) and the trigger is deleted. The
// returned error wraps the feed's error first, then any failure to delete the
// trigger. The rollback runs even if ctx has ended, for at most 65 s.
func (c *Client) CreateFeedTrigger(ctx context.Context, trigger, feed QName, params map[string]any, annotations ...KeyValue) (*Activation, error) {
	t, f := c.qualify(trigger), c.qualify(feed)
	op := fmt.Sprintf("create feed trigger %q", t)
	if err := checkName(op, t, false); err != nil {
		return nil, err
	}
	if err := checkName(op+" feed", f, true); err != nil {
		return nil, err
	}
	ann := KeyValues(annotations).Without(feedAnnotation)
	ann = append(ann, KeyValue{Key: feedAnnotation, Value: f.String()})
	if _, err := c.PutTrigger(ctx, t, Trigger{Annotations: ann}, CreateOnly); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	act, err := c.InvokeFeed(ctx, f, FeedCreate, t, params)
	if err == nil {
		return act, nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if rbErr := c.deleteFeedTrigger(rctx, t, f, params); rbErr != nil {
		return nil, fmt.Errorf("%s: %w (rollback: %w)", op, err, rbErr)
	}
	return nil, fmt.Errorf("%s: %w", op, err)
}

// ReadFeed reads a feed trigger's state as `wsk trigger get` does: it gets
// the trigger and invokes its feed with READ. A trigger without feed gives
// ErrNotFeedTrigger.
func (c *Client) ReadFeed(ctx context.Context, trigger QName) (*Activation, error) {
	return c.feedEvent(ctx, "read feed of trigger", trigger, FeedRead, nil)
}

// UpdateFeed changes a feed trigger's settings as `wsk trigger update T -p
// ...` does: it gets the trigger and invokes its feed with UPDATE and only
// the given params; the trigger itself is not written. A trigger without feed
// gives ErrNotFeedTrigger.
func (c *Client) UpdateFeed(ctx context.Context, trigger QName, params map[string]any) (*Activation, error) {
	return c.feedEvent(ctx, "update feed of trigger", trigger, FeedUpdate, params)
}

func (c *Client) feedEvent(ctx context.Context, verb string, trigger QName, event LifecycleEvent, params map[string]any) (*Activation, error) {
	t := c.qualify(trigger)
	op := fmt.Sprintf("%s %q", verb, t)
	tr, err := c.Trigger(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	f, ok := tr.Feed()
	if !ok {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFeedTrigger)
	}
	act, err := c.InvokeFeed(ctx, f, event, t, params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return act, nil
}

// DeleteFeedTrigger deletes a trigger as `wsk trigger delete` does: it gets
// the trigger; if it has a feed, invokes the feed with DELETE (no params) and
// ignores the feed's failure; then deletes the trigger whatever the feed
// said. Errors come from getting or deleting the trigger only. Use InvokeFeed
// to see the feed's answer.
func (c *Client) DeleteFeedTrigger(ctx context.Context, trigger QName) error {
	t := c.qualify(trigger)
	tr, err := c.Trigger(ctx, t)
	if err != nil {
		return fmt.Errorf("delete feed trigger %q: %w", t, err)
	}
	if f, ok := tr.Feed(); ok {
		_, _ = c.InvokeFeed(ctx, f, FeedDelete, t, nil)
	}
	if err := c.DeleteTrigger(ctx, t); err != nil {
		return fmt.Errorf("delete feed trigger %q: %w", t, err)
	}
	return nil
}

// deleteFeedTrigger is the rollback of a failed CREATE: wsk's delete path
// (get, feed DELETE, delete), with the CREATE params still attached to the
// DELETE call. Only a failure to delete the trigger is reported; a trigger
// that is already gone counts as deleted.
func (c *Client) deleteFeedTrigger(ctx context.Context, t, f QName, params map[string]any) error {
	if tr, err := c.Trigger(ctx, t); err == nil {
		if stored, ok := tr.Feed(); ok {
			f = stored
		}
	}
	_, _ = c.InvokeFeed(ctx, f, FeedDelete, t, params)
	if err := c.DeleteTrigger(ctx, t); err != nil && !IsNotFound(err) {
		return err
	}
	return nil
}
