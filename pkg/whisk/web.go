package whisk

import (
	"context"
	"fmt"
	"strings"
)

// WebActionURL returns the public URL of a web action:
// {host}/api/v1/web/{ns}/{pkg}/{action}.{ext}, with package "default" for an
// action outside packages. ext is "json" (also when empty), "http", "html",
// "svg" or "text". The web route needs the real namespace, so "_" (explicit or
// configured) is resolved with Namespace, which may ask the server once.
func (c *Client) WebActionURL(ctx context.Context, action QName, ext string) (string, error) {
	q := c.qualify(action)
	op := fmt.Sprintf("web action url %q", q)
	if err := checkName(op, q, true); err != nil {
		return "", err
	}
	switch ext = strings.TrimPrefix(ext, "."); ext {
	case "":
		ext = "json"
	case "json", "http", "html", "svg", "text":
	default:
		return "", fmt.Errorf("%s: extension %q: expected json, http, html, svg or text", op, ext)
	}
	if q.Namespace == DefaultNamespace {
		ns, err := c.Namespace(ctx)
		if err != nil {
			return "", fmt.Errorf("%s: %w", op, err)
		}
		q.Namespace = ns
	}
	pkg := q.Package
	if pkg == "" {
		pkg = "default"
	}
	return c.host + apiPath + "/web/" + escape(q.Namespace) + "/" + escape(pkg) + "/" + escape(q.Name) + "." + ext, nil
}
