package whisk

import (
	"context"
	"fmt"
	"net/http"
)

func triggerPath(q QName) string { return collectionPath(q.Namespace, "triggers", q.Name) }

// Trigger returns a trigger, including its rules.
func (c *Client) Trigger(ctx context.Context, name QName) (*Trigger, error) {
	q := c.qualify(name)
	op := fmt.Sprintf("get trigger %q", q)
	if err := checkName(op, q, false); err != nil {
		return nil, err
	}
	var t Trigger
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodGet, path: triggerPath(q), safe: idempotent}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// PutTrigger creates or updates a trigger. On update the server replaces
// parameters and annotations only when given (non-nil) and keeps the rules.
func (c *Client) PutTrigger(ctx context.Context, name QName, t Trigger, mode PutMode) (*Trigger, error) {
	q := c.qualify(name)
	op := fmt.Sprintf("put trigger %q", q)
	if err := checkName(op, q, false); err != nil {
		return nil, err
	}
	t.Namespace, t.Name, t.Rules, t.Updated = "", q.Name, nil, 0
	var out Trigger
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodPut, path: triggerPath(q),
		query: mode.query(), body: t, safe: mode.safety()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteTrigger deletes a trigger (not its rules, and without calling its
// feed; see DeleteFeedTrigger).
func (c *Client) DeleteTrigger(ctx context.Context, name QName) error {
	q := c.qualify(name)
	op := fmt.Sprintf("delete trigger %q", q)
	if err := checkName(op, q, false); err != nil {
		return err
	}
	_, err := c.do(ctx, call{op: op, method: http.MethodDelete, path: triggerPath(q), safe: idempotent})
	return err
}

// FireTrigger fires a trigger with payload (nil, a map or a struct encoding
// to a JSON object). It returns the trigger activation id (202), or "" with a
// nil error when no rule of the trigger is active (204). A missing trigger is
// a 404 *APIError. The fire is retried only when the server certainly did not
// accept it (429, 503, connection refused).
func (c *Client) FireTrigger(ctx context.Context, name QName, payload any) (string, error) {
	q := c.qualify(name)
	op := fmt.Sprintf("fire trigger %q", q)
	if err := checkName(op, q, false); err != nil {
		return "", err
	}
	body, err := objectBody(op, payload)
	if err != nil {
		return "", err
	}
	resp, err := c.do(ctx, call{op: op, method: http.MethodPost, path: triggerPath(q), body: body, safe: unsafe})
	if err != nil {
		return "", err
	}
	if resp.status == http.StatusNoContent {
		return "", nil
	}
	return activationID(resp), nil
}

// Triggers lists the triggers of a namespace ("" means the client's
// namespace), a page at a time.
func (c *Client) Triggers(ctx context.Context, namespace string, opts ListOptions) ([]Trigger, error) {
	ns := namespace
	if ns == "" {
		ns = c.namespace
	}
	op := fmt.Sprintf("list triggers of %q", ns)
	query, err := opts.query(op)
	if err != nil {
		return nil, err
	}
	var out []Trigger
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodGet, path: collectionPath(ns, "triggers"),
		query: query, safe: idempotent}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
