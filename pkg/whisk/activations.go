package whisk

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ActivationQuery filters an activation list.
type ActivationQuery struct {
	ListOptions
	Name  string    // action name, "action" or "pkg/action"; "" for all
	Since time.Time // only activations started at or after (zero: no bound)
	Upto  time.Time // only activations started at or before (zero: no bound)
	Docs  bool      // full records instead of summaries
}

func activationPath(ns, id string, sub ...string) string {
	return collectionPath(ns, "activations", append([]string{id}, sub...)...)
}

// Activations lists the activations of the client's namespace, newest first.
func (c *Client) Activations(ctx context.Context, q ActivationQuery) ([]Activation, error) {
	op := fmt.Sprintf("list activations of %q", c.namespace)
	query, err := q.query(op)
	if err != nil {
		return nil, err
	}
	if q.Name != "" {
		query.Set("name", q.Name)
	}
	if !q.Since.IsZero() {
		query.Set("since", strconv.FormatInt(q.Since.UnixMilli(), 10))
	}
	if !q.Upto.IsZero() {
		query.Set("upto", strconv.FormatInt(q.Upto.UnixMilli(), 10))
	}
	if q.Docs {
		query.Set("docs", "true")
	}
	var out []Activation
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodGet, path: collectionPath(c.namespace, "activations"),
		query: query, safe: idempotent}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Activation returns the full record of an activation.
func (c *Client) Activation(ctx context.Context, id string) (*Activation, error) {
	op := fmt.Sprintf("get activation %q", id)
	if id == "" {
		return nil, fmt.Errorf("%s: id is empty", op)
	}
	var a Activation
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodGet, path: activationPath(c.namespace, id), safe: idempotent}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// ActivationLogs returns the log lines of an activation.
func (c *Client) ActivationLogs(ctx context.Context, id string) ([]string, error) {
	op := fmt.Sprintf("get logs of activation %q", id)
	if id == "" {
		return nil, fmt.Errorf("%s: id is empty", op)
	}
	var out struct {
		Logs []string `json:"logs"`
	}
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodGet, path: activationPath(c.namespace, id, "logs"), safe: idempotent}, &out); err != nil {
		return nil, err
	}
	return out.Logs, nil
}

// ActivationResult returns the response part of an activation.
func (c *Client) ActivationResult(ctx context.Context, id string) (*ActivationResponse, error) {
	op := fmt.Sprintf("get result of activation %q", id)
	if id == "" {
		return nil, fmt.Errorf("%s: id is empty", op)
	}
	var out ActivationResponse
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodGet, path: activationPath(c.namespace, id, "result"), safe: idempotent}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
