package whisk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// KeyValue is one parameter or annotation. Init marks a parameter passed to
// the action at initialisation (as environment) instead of as an argument.
type KeyValue struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
	Init  bool   `json:"init,omitempty"`
}

// KeyValues is a list of parameters or annotations, as the API writes them.
// A nil list is left out of request bodies (the server keeps what it has); an
// empty non-nil list is sent as [] (the server clears it where it replaces).
type KeyValues []KeyValue

// FromMap returns the entries of m as KeyValues sorted by key.
func FromMap(m map[string]any) KeyValues {
	kv := make(KeyValues, 0, len(m))
	for k, v := range m {
		kv = append(kv, KeyValue{Key: k, Value: v})
	}
	sort.Slice(kv, func(i, j int) bool { return kv[i].Key < kv[j].Key })
	return kv
}

// Lookup returns the value of the last entry named key.
func (kv KeyValues) Lookup(key string) (any, bool) {
	for i := len(kv) - 1; i >= 0; i-- {
		if kv[i].Key == key {
			return kv[i].Value, true
		}
	}
	return nil, false
}

// LookupString returns the value of key when it is a string.
func (kv KeyValues) LookupString(key string) (string, bool) {
	v, ok := kv.Lookup(key)
	s, isString := v.(string)
	return s, ok && isString
}

// LookupBool returns the value of key when it is a boolean.
func (kv KeyValues) LookupBool(key string) (value, ok bool) {
	v, found := kv.Lookup(key)
	b, isBool := v.(bool)
	return b, found && isBool
}

// With returns a copy of kv where key is set to value (replacing every entry
// of that key, keeping the position of the first).
func (kv KeyValues) With(key string, value any) KeyValues {
	out := make(KeyValues, 0, len(kv)+1)
	done := false
	for _, e := range kv {
		if e.Key != key {
			out = append(out, e)
			continue
		}
		if !done {
			e.Value = value
			out = append(out, e)
			done = true
		}
	}
	if !done {
		out = append(out, KeyValue{Key: key, Value: value})
	}
	return out
}

// Without returns a copy of kv without the entries named key.
func (kv KeyValues) Without(key string) KeyValues {
	out := slices.Clone(kv)
	return slices.DeleteFunc(out, func(e KeyValue) bool { return e.Key == key })
}

// Map returns kv as a map (later entries win).
func (kv KeyValues) Map() map[string]any {
	m := make(map[string]any, len(kv))
	for _, e := range kv {
		m[e.Key] = e.Value
	}
	return m
}

// Exec is the code of an action.
type Exec struct {
	Kind       string   `json:"kind"`                 // e.g. "go:1.22", "blackbox", "sequence"
	Code       string   `json:"code,omitempty"`       // source, or base64 of a zip when Binary
	Binary     bool     `json:"binary,omitempty"`     // set by the server for base64 code
	Main       string   `json:"main,omitempty"`       // entry point
	Image      string   `json:"image,omitempty"`      // container image for blackbox
	Components []string `json:"components,omitempty"` // fully qualified actions of a sequence
}

// Limits are per-action limits. A zero field is left out: the server keeps or
// defaults it (so a logs limit of 0 cannot be requested).
type Limits struct {
	Timeout     int `json:"timeout,omitempty"`     // milliseconds
	Memory      int `json:"memory,omitempty"`      // MB
	Logs        int `json:"logs,omitempty"`        // MB
	Concurrency int `json:"concurrency,omitempty"` // activations per container
}

// Action is an action document. For PUT, Name and Namespace are ignored by the
// server (the path names the action), Exec is required on create, and
// DelAnnotations lists annotation keys to drop on update.
type Action struct {
	Namespace      string    `json:"namespace,omitempty"` // "ns" or "ns/pkg"
	Name           string    `json:"name,omitempty"`
	Version        string    `json:"version,omitempty"`
	Publish        bool      `json:"publish"`
	Exec           *Exec     `json:"exec,omitempty"`
	Parameters     KeyValues `json:"parameters,omitzero"`
	Limits         *Limits   `json:"limits,omitempty"`
	Annotations    KeyValues `json:"annotations,omitzero"`
	DelAnnotations []string  `json:"delAnnotations,omitempty"`
	Updated        int64     `json:"updated,omitempty"` // epoch ms
}

// QName returns the action's fully qualified name.
func (a Action) QName() QName { return EntityRef{Path: a.Namespace, Name: a.Name}.QName() }

// Binding names the package a binding points to. It decodes the three forms
// the API writes: {"namespace","name"}, {} and false (the last two mean "not
// a binding").
type Binding struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

// IsZero reports whether b is not a binding.
func (b Binding) IsZero() bool { return b.Namespace == "" && b.Name == "" }

// UnmarshalJSON accepts an object, {} or a boolean.
func (b *Binding) UnmarshalJSON(data []byte) error {
	t := bytes.TrimSpace(data)
	if bytes.Equal(t, []byte("false")) || bytes.Equal(t, []byte("true")) || bytes.Equal(t, []byte("null")) {
		*b = Binding{}
		return nil
	}
	type plain Binding
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("decode package binding: %w", err)
	}
	*b = Binding(p)
	return nil
}

// PackageEntry is an action or feed listed in a package.
type PackageEntry struct {
	Name        string    `json:"name"`
	Version     string    `json:"version,omitempty"`
	Annotations KeyValues `json:"annotations,omitzero"`
}

// Package is a package or a package binding. Publish makes it public.
type Package struct {
	Namespace   string         `json:"namespace,omitempty"`
	Name        string         `json:"name,omitempty"`
	Version     string         `json:"version,omitempty"`
	Publish     bool           `json:"publish"`
	Binding     Binding        `json:"binding,omitzero"`
	Parameters  KeyValues      `json:"parameters,omitzero"`
	Annotations KeyValues      `json:"annotations,omitzero"`
	Actions     []PackageEntry `json:"actions,omitempty"` // GET only
	Feeds       []PackageEntry `json:"feeds,omitempty"`   // GET only
	Updated     int64          `json:"updated,omitempty"`
}

// IsBinding reports whether p is a binding to another package.
func (p Package) IsBinding() bool { return !p.Binding.IsZero() }

// TriggerRule is an entry of a trigger's rules map.
type TriggerRule struct {
	Action EntityRef  `json:"action"`
	Status RuleStatus `json:"status"`
}

// Trigger is a trigger document. Rules (GET only) is keyed by "ns/rule".
type Trigger struct {
	Namespace   string                 `json:"namespace,omitempty"`
	Name        string                 `json:"name,omitempty"`
	Version     string                 `json:"version,omitempty"`
	Publish     bool                   `json:"publish"`
	Parameters  KeyValues              `json:"parameters,omitzero"`
	Annotations KeyValues              `json:"annotations,omitzero"`
	Limits      map[string]any         `json:"limits,omitempty"`
	Rules       map[string]TriggerRule `json:"rules,omitempty"`
	Updated     int64                  `json:"updated,omitempty"`
}

// Feed returns the feed action named by the trigger's "feed" annotation.
func (t Trigger) Feed() (QName, bool) {
	s, ok := t.Annotations.LookupString(feedAnnotation)
	if !ok {
		return QName{}, false
	}
	q, err := ParseQName(s)
	return q, err == nil
}

// RuleStatus is the state of a rule.
type RuleStatus string

// Rule states.
const (
	RuleActive   RuleStatus = "active"
	RuleInactive RuleStatus = "inactive"
)

// Rule is a rule document. List responses leave Status empty.
type Rule struct {
	Namespace   string     `json:"namespace,omitempty"`
	Name        string     `json:"name,omitempty"`
	Version     string     `json:"version,omitempty"`
	Publish     bool       `json:"publish"`
	Status      RuleStatus `json:"status,omitempty"`
	Trigger     EntityRef  `json:"trigger"`
	Action      EntityRef  `json:"action"`
	Annotations KeyValues  `json:"annotations,omitzero"`
	Updated     int64      `json:"updated,omitempty"`
}

// Activation statuses (response.status).
const (
	StatusSuccess          = "success"
	StatusApplicationError = "application error"
	StatusDeveloperError   = "action developer error"
	StatusInternalError    = "whisk internal error"
)

// ActivationResponse is the outcome of an activation. Result is an object or,
// for actions returning arrays, an array.
type ActivationResponse struct {
	Status  string          `json:"status"`
	Success bool            `json:"success"`
	Result  json.RawMessage `json:"result,omitempty"`
	Size    int             `json:"size,omitempty"`
}

// Decode unmarshals the result into v.
func (r ActivationResponse) Decode(v any) error {
	if len(r.Result) == 0 {
		return fmt.Errorf("decode activation result: no result")
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		return fmt.Errorf("decode activation result: %w", err)
	}
	return nil
}

// Activation is an activation record. List rows without docs carry only the
// summary fields (and StatusCode instead of Response).
type Activation struct {
	Namespace    string             `json:"namespace,omitempty"`
	Name         string             `json:"name,omitempty"`
	Subject      string             `json:"subject,omitempty"`
	ActivationID string             `json:"activationId"`
	Cause        string             `json:"cause,omitempty"`
	Start        int64              `json:"start,omitempty"`    // epoch ms
	End          int64              `json:"end,omitempty"`      // epoch ms
	Duration     int64              `json:"duration,omitempty"` // ms
	StatusCode   int                `json:"statusCode,omitempty"`
	Response     ActivationResponse `json:"response,omitzero"`
	Logs         []string           `json:"logs,omitempty"`
	Version      string             `json:"version,omitempty"`
	Publish      bool               `json:"publish,omitempty"`
	Annotations  KeyValues          `json:"annotations,omitzero"`
}
