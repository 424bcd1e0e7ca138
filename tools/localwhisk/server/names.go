package server

import (
	"net/http"
	"regexp"
	"strings"
)

// entityNameRE is OpenWhisk's rule for one name segment: a first character
// from [A-Za-z0-9_], then any of [A-Za-z0-9_@ .&-], never ending in a space.
var entityNameRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_@ .&-]*[A-Za-z0-9_@.&-])?$`)

// validName reports whether s is a legal entity or namespace segment.
func validName(s string) bool {
	return len(s) <= entityNameMaxLength && entityNameRE.MatchString(s)
}

// checkName answers the 400 the controller gives for an illegal path segment.
func checkName(s string) error {
	if len(s) > entityNameMaxLength {
		return newError(http.StatusBadRequest, msgNameTooLong(len(s)))
	}
	if !entityNameRE.MatchString(s) {
		return newError(http.StatusBadRequest, msgNameIllegal)
	}
	return nil
}

// FQN is a fully qualified entity name: namespace, optional package, name.
type FQN struct {
	Namespace string
	Package   string
	Name      string
}

// Path is the entity's path without the name: "ns" or "ns/pkg".
func (f FQN) Path() string {
	if f.Package == "" {
		return f.Namespace
	}
	return f.Namespace + "/" + f.Package
}

// String is "ns/name" or "ns/pkg/name" (the document id).
func (f FQN) String() string { return f.Path() + "/" + f.Name }

// WithSlash is "/ns/name" or "/ns/pkg/name".
func (f FQN) WithSlash() string { return "/" + f.String() }

// pathName is the {path, name} object used in rules and trigger links.
type pathName struct {
	Path string `json:"path"`
	Name string `json:"name"`
}

func (f FQN) pathName() pathName { return pathName{Path: f.Path(), Name: f.Name} }

func fqnFromPathName(p pathName) FQN {
	ns, pkg, _ := strings.Cut(p.Path, "/")
	return FQN{Namespace: ns, Package: pkg, Name: p.Name}
}

// parseFQN parses "/ns/name", "/ns/pkg/name" (leading slash optional) and
// resolves the namespace "_" to self. Fewer than two segments is malformed.
func parseFQN(s, self string) (FQN, error) {
	parts := strings.Split(strings.TrimPrefix(strings.TrimSpace(s), "/"), "/")
	if len(parts) < 2 || len(parts) > 3 {
		return FQN{}, malformed("requirement failed: %s", msgMalformedFQN)
	}
	for _, p := range parts {
		if !validName(p) {
			return FQN{}, malformed("%s", msgNameIllegal)
		}
	}
	f := FQN{Namespace: parts[0], Name: parts[len(parts)-1]}
	if len(parts) == 3 {
		f.Package = parts[1]
	}
	if f.Namespace == "_" {
		f.Namespace = self
	}
	return f, nil
}

// validEntityPath reports whether s parses as an entity path of one to three
// valid segments with an optional leading slash (the feed annotation rule).
func validEntityPath(s string) bool {
	s = strings.TrimPrefix(s, "/")
	if s == "" {
		return false
	}
	parts := strings.Split(s, "/")
	if len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if !validName(p) {
			return false
		}
	}
	return true
}

// validActivationID reports whether s is 32 hex characters.
func validActivationID(s string) bool {
	if len(s) != activationIDLength {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
