package runtime

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"strings"
)

type loggerKey struct{}

// Logger returns the logger of the activation that ctx belongs to: JSON on
// stderr, with activation_id and action attached and secrets redacted.
// Outside an activation it returns slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// newLogger returns the JSON logger the runtime writes with.
func newLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: RedactSecrets}))
}

// IsSecret reports whether a parameter, header or log key names a secret:
// api_key, authKey/auth_key, authorization, and anything containing secret,
// password or token (case, '_' and '-' ignored).
func IsSecret(key string) bool {
	k := strings.ToLower(key)
	k = strings.NewReplacer("_", "", "-", "").Replace(k)
	switch k {
	case "apikey", "authkey", "authorization", "owapikey":
		return true
	}
	for _, part := range []string{"secret", "password", "token"} {
		if strings.Contains(k, part) {
			return true
		}
	}
	return false
}

// RedactSecrets is a slog.HandlerOptions.ReplaceAttr function that replaces
// the value of every attribute whose key, or whose enclosing group, names a
// secret (see IsSecret). Maps, slices, structs and raw JSON values are
// redacted at any depth, through their JSON form.
func RedactSecrets(groups []string, a slog.Attr) slog.Attr {
	for _, g := range groups {
		if IsSecret(g) {
			return slog.String(a.Key, redacted)
		}
	}
	if IsSecret(a.Key) {
		return slog.String(a.Key, redacted)
	}
	if a.Value.Kind() != slog.KindAny {
		return a
	}
	if v, ok := redactDeep(a.Value.Any()); ok {
		return slog.Any(a.Key, v)
	}
	return a
}

// redactDeep returns a copy of v, in its JSON form, with secret keys
// redacted; ok is false when v is not a composite value or holds no secret.
func redactDeep(v any) (any, bool) {
	if v == nil {
		return nil, false
	}
	if _, isErr := v.(error); isErr {
		return nil, false // logged through its message
	}
	var raw []byte
	switch t := v.(type) {
	case json.RawMessage:
		raw = t
	default:
		switch reflect.Indirect(reflect.ValueOf(v)).Kind() {
		case reflect.Map, reflect.Struct, reflect.Slice, reflect.Array:
		default:
			return nil, false
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, false
		}
		raw = b
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, false
	}
	if !redactTree(tree) {
		return nil, false
	}
	return tree, true
}

// redactTree replaces secret values in a decoded JSON tree in place and
// reports whether it replaced any.
func redactTree(v any) bool {
	changed := false
	switch t := v.(type) {
	case map[string]any:
		for k, sub := range t {
			if IsSecret(k) {
				t[k] = redacted
				changed = true
				continue
			}
			if redactTree(sub) {
				changed = true
			}
		}
	case []any:
		for _, sub := range t {
			if redactTree(sub) {
				changed = true
			}
		}
	}
	return changed
}
