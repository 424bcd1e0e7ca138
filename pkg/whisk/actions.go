package whisk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

const activationIDHeader = "X-Openwhisk-Activation-Id"

// PutMode chooses between creating an entity and replacing it.
type PutMode int

const (
	// CreateOnly fails with 409 when the entity exists (overwrite=false).
	CreateOnly PutMode = iota
	// Overwrite creates or updates the entity (overwrite=true).
	Overwrite
)

func (m PutMode) query() url.Values {
	return url.Values{"overwrite": {strconv.FormatBool(m == Overwrite)}}
}

func (m PutMode) safety() safety {
	if m == Overwrite {
		return idempotent
	}
	return unsafe
}

func actionPath(q QName) string { return collectionPath(q.Namespace, "actions", q.Package, q.Name) }

// Action returns an action. withCode=false asks the server to leave out the
// code (exec then only has kind and binary).
func (c *Client) Action(ctx context.Context, name QName, withCode bool) (*Action, error) {
	q := c.qualify(name)
	op := fmt.Sprintf("get action %q", q)
	if err := checkName(op, q, true); err != nil {
		return nil, err
	}
	var a Action
	_, err := c.doJSON(ctx, call{op: op, method: http.MethodGet, path: actionPath(q),
		query: url.Values{"code": {strconv.FormatBool(withCode)}}, safe: idempotent}, &a)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// PutAction creates or updates an action (see Action for the update rules)
// and returns the stored document.
func (c *Client) PutAction(ctx context.Context, name QName, a Action, mode PutMode) (*Action, error) {
	q := c.qualify(name)
	op := fmt.Sprintf("put action %q", q)
	if err := checkName(op, q, true); err != nil {
		return nil, err
	}
	a.Namespace, a.Name, a.Updated = "", "", 0
	var out Action
	_, err := c.doJSON(ctx, call{op: op, method: http.MethodPut, path: actionPath(q),
		query: mode.query(), body: a, safe: mode.safety()}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteAction deletes an action.
func (c *Client) DeleteAction(ctx context.Context, name QName) error {
	q := c.qualify(name)
	op := fmt.Sprintf("delete action %q", q)
	if err := checkName(op, q, true); err != nil {
		return err
	}
	_, err := c.do(ctx, call{op: op, method: http.MethodDelete, path: actionPath(q), safe: idempotent})
	return err
}

// InvokeResult invokes an action, waits for it (up to the server's cap of 60
// s) and returns its result (an object, or an array). An action that failed
// gives an *ActionError whose Result is the action's result; an action still
// running after the wait gives a *PendingError.
func (c *Client) InvokeResult(ctx context.Context, name QName, params any) (json.RawMessage, error) {
	resp, err := c.invoke(ctx, "invoke action", name, params, true, true)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(resp.body), nil
}

// InvokeBlocking invokes an action, waits for it (up to the server's cap of
// 60 s) and returns the activation record. Failures are reported as for
// InvokeResult; the *ActionError then carries the activation.
func (c *Client) InvokeBlocking(ctx context.Context, name QName, params any) (*Activation, error) {
	return c.invokeActivation(ctx, "invoke action", name, params)
}

// InvokeAsync invokes an action without waiting and returns the activation id.
func (c *Client) InvokeAsync(ctx context.Context, name QName, params any) (string, error) {
	resp, err := c.invoke(ctx, "invoke action", name, params, false, false)
	if err != nil {
		return "", err
	}
	return activationID(resp), nil
}

func (c *Client) invokeActivation(ctx context.Context, verb string, name QName, params any) (*Activation, error) {
	resp, err := c.invoke(ctx, verb, name, params, true, false)
	if err != nil {
		return nil, err
	}
	return decodeActivation(verb, name, resp)
}

func decodeActivation(verb string, name QName, resp *response) (*Activation, error) {
	body := bytes.TrimSpace(resp.body)
	if bytes.HasPrefix(body, []byte("[")) {
		// An array result is answered bare even when the activation was asked for.
		return &Activation{
			ActivationID: resp.header.Get(activationIDHeader),
			Response:     ActivationResponse{Status: StatusSuccess, Success: true, Result: json.RawMessage(body)},
		}, nil
	}
	var a Activation
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%s %q: decode activation: %w", verb, name, err)
	}
	if a.ActivationID == "" {
		a.ActivationID = resp.header.Get(activationIDHeader)
	}
	return &a, nil
}

// invoke posts to an action. A 202 to a blocking call is a *PendingError.
func (c *Client) invoke(ctx context.Context, verb string, name QName, params any, blocking, result bool) (*response, error) {
	q := c.qualify(name)
	op := fmt.Sprintf("%s %q", verb, q)
	if err := checkName(op, q, true); err != nil {
		return nil, err
	}
	body, err := objectBody(op, params)
	if err != nil {
		return nil, err
	}
	query := url.Values{"blocking": {strconv.FormatBool(blocking)}, "result": {strconv.FormatBool(result)}}
	resp, err := c.do(ctx, call{op: op, method: http.MethodPost, path: actionPath(q), query: query,
		body: body, safe: unsafe, invoke: true})
	if err != nil {
		return nil, err
	}
	if blocking && resp.status == http.StatusAccepted {
		return nil, fmt.Errorf("%s: %w", op, &PendingError{ActivationID: activationID(resp)})
	}
	return resp, nil
}

// activationID reads {"activationId"} from a 202 body, or the header.
func activationID(resp *response) string {
	var b struct {
		ActivationID string `json:"activationId"`
	}
	if json.Unmarshal(resp.body, &b) == nil && b.ActivationID != "" {
		return b.ActivationID
	}
	return resp.header.Get(activationIDHeader)
}

// objectBody encodes params, which must encode to a JSON object (nil gives {}).
func objectBody(op string, params any) (json.RawMessage, error) {
	if params == nil {
		return json.RawMessage("{}"), nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("%s: encode params: %w", op, err)
	}
	t := bytes.TrimSpace(b)
	if bytes.Equal(t, []byte("null")) {
		return json.RawMessage("{}"), nil
	}
	if !bytes.HasPrefix(t, []byte("{")) {
		return nil, fmt.Errorf("%s: params must encode to a JSON object, got %s", op, truncate(string(t), 40))
	}
	return json.RawMessage(b), nil
}
