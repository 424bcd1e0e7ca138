package whisk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

func packagePath(q QName) string { return collectionPath(q.Namespace, "packages", q.Name) }

// Package returns a package or binding (for a binding: the binding itself,
// with the target's parameters overlaid and the target's actions and feeds).
// The name is "/ns/pkg" or "pkg".
func (c *Client) Package(ctx context.Context, name QName) (*Package, error) {
	q := c.qualify(name)
	op := fmt.Sprintf("get package %q", q)
	if err := checkName(op, q, false); err != nil {
		return nil, err
	}
	var p Package
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodGet, path: packagePath(q), safe: idempotent}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// PutPackage creates or updates a package, or a binding when p.Binding is set
// (its namespace may be "_").
func (c *Client) PutPackage(ctx context.Context, name QName, p Package, mode PutMode) (*Package, error) {
	q := c.qualify(name)
	op := fmt.Sprintf("put package %q", q)
	if err := checkName(op, q, false); err != nil {
		return nil, err
	}
	p.Namespace, p.Name, p.Updated, p.Actions, p.Feeds = "", "", 0, nil, nil
	var out Package
	if _, err := c.doJSON(ctx, call{op: op, method: http.MethodPut, path: packagePath(q),
		query: mode.query(), body: p, safe: mode.safety()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeletePackage deletes a package; force deletes its contents too (without
// it a non-empty package gives 409).
func (c *Client) DeletePackage(ctx context.Context, name QName, force bool) error {
	q := c.qualify(name)
	op := fmt.Sprintf("delete package %q", q)
	if err := checkName(op, q, false); err != nil {
		return err
	}
	var query url.Values
	if force {
		query = url.Values{"force": {"true"}}
	}
	_, err := c.do(ctx, call{op: op, method: http.MethodDelete, path: packagePath(q), query: query, safe: idempotent})
	return err
}
