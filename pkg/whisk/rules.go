package whisk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

func rulePath(q QName) string { return collectionPath(q.Namespace, "rules", q.Name) }

// Rule returns a rule with its status.
func (c *Client) Rule(ctx context.Context, name QName) (*Rule, error) {
	q := c.qualify(name)
	op := fmt.Sprintf("get rule %q", q)
	if err := checkName(op, q, false); err != nil {
		return nil, err
	}
	var r Rule
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodGet, path: rulePath(q), safe: idempotent}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// PutRule creates or updates a rule from trigger to action. Names without a
// namespace are qualified with the client's namespace ("/_/t"). A new rule is
// active; an update keeps the status.
func (c *Client) PutRule(ctx context.Context, name, trigger, action QName, mode PutMode) (*Rule, error) {
	q := c.qualify(name)
	op := fmt.Sprintf("put rule %q", q)
	if err := checkName(op, q, false); err != nil {
		return nil, err
	}
	if err := checkName(op+" trigger", trigger, false); err != nil {
		return nil, err
	}
	if err := checkName(op+" action", action, true); err != nil {
		return nil, err
	}
	body := struct {
		Name    string `json:"name"`
		Trigger string `json:"trigger"`
		Action  string `json:"action"`
		Publish bool   `json:"publish"`
	}{q.Name, c.qualify(trigger).String(), c.qualify(action).String(), false}
	var out Rule
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodPut, path: rulePath(q),
		query: mode.query(), body: body, safe: mode.safety()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteRule deletes a rule in any state.
func (c *Client) DeleteRule(ctx context.Context, name QName) error {
	q := c.qualify(name)
	op := fmt.Sprintf("delete rule %q", q)
	if err := checkName(op, q, false); err != nil {
		return err
	}
	_, err := c.do(ctx, call{op: op, method: http.MethodDelete, path: rulePath(q), safe: idempotent})
	return err
}

// SetRuleStatus activates or deactivates a rule.
func (c *Client) SetRuleStatus(ctx context.Context, name QName, status RuleStatus) error {
	q := c.qualify(name)
	op := fmt.Sprintf("set rule %q %s", q, status)
	if err := checkName(op, q, false); err != nil {
		return err
	}
	if status != RuleActive && status != RuleInactive {
		return fmt.Errorf("set rule %q: status %q: expected %q or %q", q, status, RuleActive, RuleInactive)
	}
	body := map[string]RuleStatus{"status": status}
	_, err := c.do(ctx, call{op: op, method: http.MethodPost, path: rulePath(q), body: body, safe: idempotent})
	return err
}

// ListOptions pages a list: Limit 0 means the server default (30), at most
// 200; Skip counts entries to leave out.
type ListOptions struct {
	Limit int
	Skip  int
}

func (o ListOptions) query(op string) (url.Values, error) {
	if o.Limit < 0 || o.Limit > 200 {
		return nil, fmt.Errorf("%s: limit %d: expected 0..200", op, o.Limit)
	}
	if o.Skip < 0 {
		return nil, fmt.Errorf("%s: skip %d: expected 0 or more", op, o.Skip)
	}
	v := url.Values{}
	if o.Limit > 0 {
		v.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Skip > 0 {
		v.Set("skip", strconv.Itoa(o.Skip))
	}
	return v, nil
}

// Rules lists the rules of a namespace ("" means the client's namespace).
// List entries carry no status; use Rule for it.
func (c *Client) Rules(ctx context.Context, namespace string, opts ListOptions) ([]Rule, error) {
	ns := namespace
	if ns == "" {
		ns = c.namespace
	}
	op := fmt.Sprintf("list rules of %q", ns)
	query, err := opts.query(op)
	if err != nil {
		return nil, err
	}
	var out []Rule
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodGet, path: collectionPath(ns, "rules"),
		query: query, safe: idempotent}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
