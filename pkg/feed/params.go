package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ErrInvalidParams is wrapped by every error about a lifecycle request's
// parameters; the lifecycle answers it with HTTP 400.
var ErrInvalidParams = errors.New("invalid parameters")

// ParamError names the parameter at fault and what was expected.
type ParamError struct {
	Name     string // parameter name
	Expected string // what would have been accepted
	Got      any    // the value given, nil when missing; never a secret
}

func (e *ParamError) Error() string {
	if e.Got == nil {
		return fmt.Sprintf("parameter %q is required: expected %s", e.Name, e.Expected)
	}
	return fmt.Sprintf("parameter %q: expected %s, got %s", e.Name, e.Expected, describe(e.Got))
}

// Unwrap makes every ParamError match ErrInvalidParams.
func (e *ParamError) Unwrap() error { return ErrInvalidParams }

func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 64 {
			v = v[:64] + "…"
		}
		return strconv.Quote(v)
	case secretValue:
		return "a value"
	default:
		b, err := json.Marshal(v)
		if err != nil || len(b) > 64 {
			return fmt.Sprintf("a %T", v)
		}
		return string(b)
	}
}

// secretValue marks a value that must not appear in error messages.
type secretValue struct{}

// Params reads the parameters of a lifecycle request with typed accessors.
// Each accessor records the parameter as known; the first problem of each
// parameter is kept, and Err returns them all. Values arrive JSON-typed
// (wsk parses -p values as JSON) or as strings (wskdeploy inputs), so numbers
// and booleans are accepted in either form.
type Params struct {
	values  map[string]any
	known   map[string]bool
	secrets map[string]string
	errs    []error
}

// NewParams wraps a parameter map. The map is not modified.
func NewParams(values map[string]any) *Params {
	if values == nil {
		values = map[string]any{}
	}
	return &Params{values: values, known: map[string]bool{}, secrets: map[string]string{}}
}

func (p *Params) fail(name, expected string, got any) {
	for _, err := range p.errs {
		var pe *ParamError
		if errors.As(err, &pe) && pe.Name == name {
			return
		}
	}
	p.errs = append(p.errs, &ParamError{Name: name, Expected: expected, Got: got})
}

// lookup returns the value of name, treating null and "" as absent.
func (p *Params) lookup(name string) (any, bool) {
	p.known[name] = true
	v, ok := p.values[name]
	if !ok || v == nil {
		return nil, false
	}
	if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
		return nil, false
	}
	return v, true
}

// Has reports whether name was given with a non-empty value.
func (p *Params) Has(name string) bool {
	_, ok := p.lookup(name)
	return ok
}

// String returns the string parameter name, or def when it is absent.
func (p *Params) String(name, def string) string {
	v, ok := p.lookup(name)
	if !ok {
		return def
	}
	s, isStr := v.(string)
	if !isStr {
		p.fail(name, "a string", v)
		return def
	}
	return strings.TrimSpace(s)
}

// Required returns the string parameter name and records an error when it is absent.
func (p *Params) Required(name, expected string) string {
	if _, ok := p.lookup(name); !ok {
		p.fail(name, expected, nil)
		return ""
	}
	return p.String(name, "")
}

// Secret returns a string parameter that is sealed in the record and never
// shown by READ or written to logs.
func (p *Params) Secret(name string) string {
	v, ok := p.lookup(name)
	if !ok {
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		p.fail(name, "a string", secretValue{})
		return ""
	}
	p.secrets[name] = s
	return s
}

// Int returns the integer parameter name within [min, max], or def when absent.
func (p *Params) Int(name string, def, min, max int) int {
	v, ok := p.lookup(name)
	if !ok {
		return def
	}
	expected := fmt.Sprintf("a whole number from %d to %d", min, max)
	var f float64
	switch v := v.(type) {
	case float64:
		f = v
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case json.Number:
		x, err := v.Float64()
		if err != nil {
			p.fail(name, expected, v.String())
			return def
		}
		f = x
	case string:
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			p.fail(name, expected, v)
			return def
		}
		f = x
	default:
		p.fail(name, expected, v)
		return def
	}
	if f != math.Trunc(f) || f < float64(min) || f > float64(max) {
		p.fail(name, expected, v)
		return def
	}
	return int(f)
}

// Bool returns the boolean parameter name, or def when absent. It accepts
// true/false as JSON booleans or strings (also yes/no, 1/0).
func (p *Params) Bool(name string, def bool) bool {
	v, ok := p.lookup(name)
	if !ok {
		return def
	}
	switch v := v.(type) {
	case bool:
		return v
	case float64:
		if v == 0 || v == 1 {
			return v == 1
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes", "1", "on":
			return true
		case "false", "no", "0", "off":
			return false
		}
	}
	p.fail(name, "true or false", v)
	return def
}

// Enum returns the parameter name, which must be one of allowed, or def.
func (p *Params) Enum(name, def string, allowed ...string) string {
	s := p.String(name, def)
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return a
		}
	}
	p.fail(name, "one of "+strings.Join(allowed, ", "), s)
	return def
}

// Set returns a subset of allowed, given as a list or a comma-separated
// string; def when absent. Duplicates are removed, order follows allowed.
func (p *Params) Set(name string, def []string, allowed ...string) []string {
	v, ok := p.lookup(name)
	if !ok {
		return def
	}
	var items []string
	switch v := v.(type) {
	case string:
		items = strings.Split(v, ",")
	case []any:
		for _, it := range v {
			s, isStr := it.(string)
			if !isStr {
				p.fail(name, "a list of "+strings.Join(allowed, ", "), v)
				return def
			}
			items = append(items, s)
		}
	default:
		p.fail(name, "a list of "+strings.Join(allowed, ", "), v)
		return def
	}
	seen := map[string]bool{}
	for _, it := range items {
		it = strings.ToLower(strings.TrimSpace(it))
		if it == "" {
			continue
		}
		match := false
		for _, a := range allowed {
			if it == a {
				match = true
			}
		}
		if !match {
			p.fail(name, "a subset of "+strings.Join(allowed, ", "), v)
			return def
		}
		seen[it] = true
	}
	if len(seen) == 0 {
		p.fail(name, "at least one of "+strings.Join(allowed, ", "), v)
		return def
	}
	var out []string
	for _, a := range allowed {
		if seen[a] {
			out = append(out, a)
		}
	}
	return out
}

// Invalid records a problem with a parameter found by the caller's own checks.
func (p *Params) Invalid(name, expected string, got any) {
	p.known[name] = true
	p.fail(name, expected, got)
}

// Err returns every problem found so far, joined, or nil.
func (p *Params) Err() error {
	return errors.Join(p.errs...)
}

// Unknown lists, sorted, the parameters no accessor asked for.
func (p *Params) Unknown() []string {
	var out []string
	for k := range p.values {
		if !p.known[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// secretValues returns the secrets read with Secret.
func (p *Params) secretValues() map[string]string { return p.secrets }

// public returns the given parameters that are neither secret nor unknown.
func (p *Params) public() map[string]any {
	out := map[string]any{}
	for k, v := range p.values {
		if p.known[k] {
			if _, secret := p.secrets[k]; !secret {
				out[k] = v
			}
		}
	}
	return out
}
