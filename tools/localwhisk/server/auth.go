package server

import (
	"bufio"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// Identity is a namespace and its credentials (the "auth key" uuid:key).
type Identity struct {
	Namespace string
	UUID      string
	Key       string
}

// AuthKey returns "uuid:key", the form clients and feed actions carry.
func (i Identity) AuthKey() string { return i.UUID + ":" + i.Key }

// The well-known development identities of an OpenWhisk deployment.
const (
	GuestAuthKey       = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
	WhiskSystemAuthKey = "789c46b1-71f6-4ed5-8c54-816aa4f8c502:abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)

// DefaultIdentities returns guest and whisk.system with their usual keys.
func DefaultIdentities() []Identity {
	g, _ := ParseIdentity("guest", GuestAuthKey)
	w, _ := ParseIdentity("whisk.system", WhiskSystemAuthKey)
	return []Identity{g, w}
}

var (
	uuidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	secretRE = regexp.MustCompile(`^[A-Za-z0-9]{64}$`)
)

// ParseIdentity checks a namespace name and a "uuid:key" auth key.
func ParseIdentity(namespace, authKey string) (Identity, error) {
	if !validName(namespace) {
		return Identity{}, fmt.Errorf("parse identity: namespace %q: not a valid entity name", namespace)
	}
	id, key, ok := strings.Cut(authKey, ":")
	if !ok || !uuidRE.MatchString(id) || !secretRE.MatchString(key) {
		return Identity{}, fmt.Errorf("parse identity %q: auth key must be uuid:key with a 64-character alphanumeric key", namespace)
	}
	return Identity{Namespace: namespace, UUID: id, Key: key}, nil
}

// ParseAuthFile reads lines "namespace uuid:key"; blank lines and lines
// starting with # are skipped.
func ParseAuthFile(r io.Reader) ([]Identity, error) {
	var out []Identity
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return nil, fmt.Errorf("parse auth file: line %d: want \"namespace uuid:key\"", line)
		}
		id, err := ParseIdentity(fields[0], fields[1])
		if err != nil {
			return nil, fmt.Errorf("parse auth file: line %d: %w", line, err)
		}
		out = append(out, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse auth file: %w", err)
	}
	return out, nil
}

// identities indexes the configured identities.
type identities struct {
	byUUID      map[string]Identity
	byNamespace map[string]Identity
}

func newIdentities(list []Identity) (*identities, error) {
	ids := &identities{byUUID: map[string]Identity{}, byNamespace: map[string]Identity{}}
	for _, id := range list {
		if _, err := ParseIdentity(id.Namespace, id.AuthKey()); err != nil {
			return nil, err
		}
		if _, dup := ids.byUUID[id.UUID]; dup {
			return nil, fmt.Errorf("identities: uuid of namespace %q is used twice", id.Namespace)
		}
		if _, dup := ids.byNamespace[id.Namespace]; dup {
			return nil, fmt.Errorf("identities: namespace %q is defined twice", id.Namespace)
		}
		ids.byUUID[id.UUID] = id
		ids.byNamespace[id.Namespace] = id
	}
	return ids, nil
}

// lookupAuthKey returns the identity owning "uuid:key".
func (ids *identities) lookupAuthKey(authKey string) (Identity, bool) {
	u, k, ok := strings.Cut(authKey, ":")
	if !ok {
		return Identity{}, false
	}
	id, ok := ids.byUUID[u]
	if !ok || subtle.ConstantTimeCompare([]byte(id.Key), []byte(k)) != 1 {
		return Identity{}, false
	}
	return id, true
}

// authenticate reads Basic credentials. It returns present=false when the
// request carries none.
func (ids *identities) authenticate(r *http.Request) (id Identity, present, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Identity{}, false, false
	}
	scheme, cred, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return Identity{}, true, false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return Identity{}, true, false
	}
	id, ok = ids.lookupAuthKey(string(raw))
	return id, true, ok
}

func unauthorized(present bool) *apiError {
	msg := msgAuthMissing
	if present {
		msg = msgAuthInvalid
	}
	e := newError(http.StatusUnauthorized, msg)
	e.header = http.Header{"Www-Authenticate": []string{headerWWWAuthenticate}}
	return e
}
