package deploy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// interpolate substitutes environment variables in s as wskdeploy does: only
// a string that starts with '$' or contains "${" is touched; then $NAME and
// ${NAME} are replaced by the variable's value ("" when unset) and $${NAME}
// stays as the literal ${NAME}.
func interpolate(s string, env func(string) string) string {
	if !(len(s) > 1 && s[0] == '$') && !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		rest := s[i+1:]
		switch {
		case strings.HasPrefix(rest, "${"): // $${X} is the literal ${X}
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				b.WriteString(rest)
				return b.String()
			}
			b.WriteString(rest[:end+1])
			i += 1 + end + 1
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			b.WriteString(env(rest[1:end]))
			i += 1 + end + 1
		default:
			n := 0
			for n < len(rest) && isNameByte(rest[n]) {
				n++
			}
			if n == 0 {
				b.WriteByte('$')
				i++
				continue
			}
			b.WriteString(env(rest[:n]))
			i += 1 + n
		}
	}
	return b.String()
}

func isNameByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// envVarName strips the variable syntax from "$X" or "${X}", as wskdeploy
// does to find a package input referred to by an action input.
func envVarName(s string) string {
	s = strings.Replace(s, "$", "", 1)
	return strings.NewReplacer("{", "", "}", "").Replace(s)
}

// Input types (canonical names).
const (
	typeString  = "string"
	typeInteger = "integer"
	typeFloat   = "float"
	typeBoolean = "boolean"
	typeJSON    = "json"
	typeSlice   = "slice"
)

// typeNames maps the type names a multi-line input may declare to their
// canonical name.
var typeNames = map[string]string{
	"string":  typeString,
	"integer": typeInteger, "int": typeInteger, "int8": typeInteger, "int16": typeInteger,
	"int32": typeInteger, "int64": typeInteger,
	"float": typeFloat, "float32": typeFloat, "float64": typeFloat,
	"boolean": typeBoolean, "bool": typeBoolean,
	"json": typeJSON, "map": typeJSON,
	"slice": typeSlice,
}

// typedEmpty are the single-line values that mean "typed, empty" (a value
// equal to a type name).
var typedEmpty = map[string]bool{typeString: true, typeInteger: true, typeFloat: true, typeBoolean: true, typeJSON: true}

// zeroValue is the value of an input of type typ without value (nil: the
// input is left out).
func zeroValue(typ string) any {
	switch typ {
	case typeString:
		return ""
	case typeInteger:
		return 0
	case typeFloat:
		return 0.0
	case typeBoolean:
		return false
	case typeJSON:
		return map[string]any{}
	default:
		return nil
	}
}

func isZero(typ string, v any) bool {
	return v == nil || reflect.DeepEqual(v, zeroValue(typ))
}

// typeOf infers an input's type from its value.
func typeOf(v any) string {
	switch v.(type) {
	case int, int64, uint64:
		return typeInteger
	case float64:
		return typeFloat
	case bool:
		return typeBoolean
	case map[string]any:
		return typeJSON
	case []any:
		return typeSlice
	default:
		return typeString
	}
}

// resolved is an input's value with its type.
type resolved struct {
	typ   string
	value any
}

// resolveInput computes the value of an input from the manifest alone, as
// wskdeploy does: default when value is absent, the type's empty value when
// both are, strings $VAR-interpolated. Unlike wskdeploy, a string given for
// an integer, float or boolean input is interpolated and converted (wskdeploy
// would send the uninterpolated string).
func resolveInput(in inputDef, env func(string) string) (resolved, error) {
	v := in.value
	var typ string
	if !in.multiline {
		typ = typeOf(v)
		if s, ok := v.(string); ok && typedEmpty[s] {
			return resolved{typ: s, value: zeroValue(s)}, nil
		}
	} else {
		if v == nil && in.def != nil {
			v = in.def
		}
		if in.typ != "" {
			t, ok := typeNames[in.typ]
			if !ok {
				return resolved{}, fmt.Errorf("type %q is not one of string, integer, float, boolean, json, slice", in.typ)
			}
			typ = t
		} else {
			typ = typeOf(v)
		}
	}
	if v == nil {
		return resolved{typ: typ, value: zeroValue(typ)}, nil
	}
	s, isString := v.(string)
	switch typ {
	case typeString:
		if isString {
			v = interpolate(s, env)
		}
	case typeInteger:
		if isString {
			s = interpolate(s, env)
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return resolved{}, fmt.Errorf("type integer: %q is not an integer", s)
			}
			v = n
		}
	case typeFloat:
		if isString {
			s = interpolate(s, env)
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return resolved{}, fmt.Errorf("type float: %q is not a number", s)
			}
			v = f
		}
	case typeBoolean:
		if isString {
			s = interpolate(s, env)
			b, ok := yaml11Bool(strings.TrimSpace(s))
			if !ok {
				return resolved{}, fmt.Errorf("type boolean: %q is not true or false", s)
			}
			v = b
		}
	case typeJSON:
		switch t := v.(type) {
		case string:
			var parsed any
			if err := json.Unmarshal([]byte(t), &parsed); err != nil {
				return resolved{}, fmt.Errorf("type json: value is not valid JSON: %v", err)
			}
			v = parsed
		case map[string]any:
			v = interpolateMap(t, env)
		default:
			return resolved{}, fmt.Errorf("type json: expected a mapping or a JSON string, got %s", typeOf(v))
		}
	}
	return resolved{typ: typ, value: v}, nil
}

// interpolateMap interpolates the strings of m and of its nested mappings.
func interpolateMap(m map[string]any, env func(string) string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch t := v.(type) {
		case string:
			out[k] = interpolate(t, env)
		case map[string]any:
			out[k] = interpolateMap(t, env)
		default:
			out[k] = v
		}
	}
	return out
}

// secretWords mark parameter names whose values are never printed.
var secretWords = []string{"secret", "key", "token", "password", "passwd", "auth", "credential"}

func isSecretName(name string) bool {
	l := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

const redacted = "***"

// display renders a parameter value for progress lines: secrets (by name,
// at any depth) and URL passwords are redacted, long strings shortened.
func display(name string, v any) string {
	if isSecretName(name) {
		return redacted
	}
	switch t := v.(type) {
	case string:
		return strconv.Quote(shorten(redactURL(t), 60))
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+display(k, t[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			parts = append(parts, display(name, e))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	default:
		return shorten(fmt.Sprint(v), 60)
	}
}

// redactURL hides the password of a URL with credentials.
func redactURL(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), redacted)
		return strings.Replace(u.String(), url.QueryEscape(redacted), redacted, 1)
	}
	return s
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
