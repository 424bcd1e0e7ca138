package whisk

import (
	"encoding/json"
	"fmt"
	"strings"
)

// QName names an entity: an optional namespace, an optional package and a
// name. An empty Namespace means the client's configured namespace; "_" means
// the credentials' own namespace, resolved by the server.
type QName struct {
	Namespace string
	Package   string
	Name      string
}

// ParseQName parses the forms the CLI accepts: "/ns/name", "/ns/pkg/name"
// (fully qualified; ns may be "_"), "name" and "pkg/name" (relative to the
// client's namespace).
func ParseQName(s string) (QName, error) {
	if s == "" {
		return QName{}, fmt.Errorf("parse entity name: empty name")
	}
	abs := strings.HasPrefix(s, "/")
	parts := strings.Split(strings.TrimPrefix(s, "/"), "/")
	for _, p := range parts {
		if p == "" {
			return QName{}, fmt.Errorf("parse entity name %q: empty path segment", s)
		}
	}
	switch {
	case abs && len(parts) == 2:
		return QName{Namespace: parts[0], Name: parts[1]}, nil
	case abs && len(parts) == 3:
		return QName{Namespace: parts[0], Package: parts[1], Name: parts[2]}, nil
	case abs:
		return QName{}, fmt.Errorf("parse entity name %q: expected /namespace/name or /namespace/package/name", s)
	case len(parts) == 1:
		return QName{Name: parts[0]}, nil
	case len(parts) == 2:
		return QName{Package: parts[0], Name: parts[1]}, nil
	default:
		return QName{}, fmt.Errorf("parse entity name %q: a name without leading '/' is name or package/name", s)
	}
}

// MustParseQName is ParseQName for constants; it panics on a malformed name.
func MustParseQName(s string) QName {
	q, err := ParseQName(s)
	if err != nil {
		panic(err)
	}
	return q
}

// String formats q as ParseQName reads it: "/ns/pkg/name" or "/ns/name" when
// the namespace is set, "pkg/name" or "name" otherwise.
func (q QName) String() string {
	rel := q.Name
	if q.Package != "" {
		rel = q.Package + "/" + q.Name
	}
	if q.Namespace == "" {
		return rel
	}
	return "/" + q.Namespace + "/" + rel
}

// Path returns the "path" of q as entity documents write it: "ns" or "ns/pkg".
func (q QName) Path() string {
	if q.Package == "" {
		return q.Namespace
	}
	return q.Namespace + "/" + q.Package
}

// InNamespace returns q with its namespace set to ns when it has none.
func (q QName) InNamespace(ns string) QName {
	if q.Namespace == "" {
		q.Namespace = ns
	}
	return q
}

// qualify fills in the client's configured namespace.
func (c *Client) qualify(q QName) QName { return q.InNamespace(c.namespace) }

// checkName validates q for an entity of kind ("trigger", "action", ...).
// Triggers, rules and packages cannot live in a package.
func checkName(op string, q QName, packaged bool) error {
	if q.Name == "" {
		return fmt.Errorf("%s: name is empty", op)
	}
	if !packaged && q.Package != "" {
		return fmt.Errorf("%s %q: name must be /namespace/name or name, not inside a package", op, q)
	}
	return nil
}

// EntityRef is how entity documents refer to another entity: a path ("ns" or
// "ns/pkg") and a name. It also decodes the string form "/ns/pkg/name".
type EntityRef struct {
	Path string `json:"path"`
	Name string `json:"name"`
}

// QName converts r into a fully qualified name.
func (r EntityRef) QName() QName {
	ns, pkg, _ := strings.Cut(r.Path, "/")
	return QName{Namespace: ns, Package: pkg, Name: r.Name}
}

// String returns r as "/ns[/pkg]/name".
func (r EntityRef) String() string { return r.QName().String() }

// UnmarshalJSON accepts {"path","name"} and a fully qualified string.
func (r *EntityRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		q, err := ParseQName(s)
		if err != nil {
			return err
		}
		*r = EntityRef{Path: q.Path(), Name: q.Name}
		return nil
	}
	type plain EntityRef
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = EntityRef(p)
	return nil
}
