package server

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// KeyValue is one parameter or annotation as OpenWhisk writes it.
type KeyValue struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	Init  bool            `json:"init,omitempty"`
}

// Params is an ordered list of parameters or annotations; keys are unique.
type Params []KeyValue

// MarshalJSON writes an empty list as [] rather than null.
func (p Params) MarshalJSON() ([]byte, error) {
	if p == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]KeyValue(p))
}

// UnmarshalJSON accepts the array form, checking every key and keeping the
// last value of a repeated key.
func (p *Params) UnmarshalJSON(b []byte) error {
	var raw []struct {
		Key   *string         `json:"key"`
		Value json.RawMessage `json:"value"`
		Init  bool            `json:"init"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("parameters must be an array of {key, value}: %w", err)
	}
	var out Params
	for _, kv := range raw {
		if kv.Key == nil || len(bytes.TrimSpace([]byte(*kv.Key))) == 0 {
			return fmt.Errorf("parameter key undefined")
		}
		v := kv.Value
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		out = out.Set(*kv.Key, compactJSON(v), kv.Init)
	}
	*p = out
	return nil
}

func compactJSON(v json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return v
	}
	return buf.Bytes()
}

// Get returns the value of key.
func (p Params) Get(key string) (json.RawMessage, bool) {
	for _, kv := range p {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Has reports whether key is present.
func (p Params) Has(key string) bool {
	_, ok := p.Get(key)
	return ok
}

// Bool reports whether key holds JSON true.
func (p Params) Bool(key string) bool {
	v, ok := p.Get(key)
	return ok && string(v) == "true"
}

// Set returns a copy of p with key set to value, in place if present.
func (p Params) Set(key string, value json.RawMessage, init bool) Params {
	out := make(Params, 0, len(p)+1)
	found := false
	for _, kv := range p {
		if kv.Key == key {
			out = append(out, KeyValue{Key: key, Value: value, Init: init})
			found = true
			continue
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, KeyValue{Key: key, Value: value, Init: init})
	}
	return out
}

// SetAny is Set with a Go value marshalled to JSON.
func (p Params) SetAny(key string, value any) Params {
	b, err := json.Marshal(value)
	if err != nil {
		b = []byte("null")
	}
	return p.Set(key, b, false)
}

// Delete returns a copy of p without key.
func (p Params) Delete(key string) Params {
	out := make(Params, 0, len(p))
	for _, kv := range p {
		if kv.Key != key {
			out = append(out, kv)
		}
	}
	return out
}

// Merge returns p overlaid by over: keys of over win, order is kept.
func (p Params) Merge(over Params) Params {
	out := append(Params(nil), p...)
	for _, kv := range over {
		out = out.Set(kv.Key, kv.Value, kv.Init)
	}
	return out
}

// Defined returns the keys whose value is not null.
func (p Params) Defined() map[string]bool {
	out := map[string]bool{}
	for _, kv := range p {
		if string(kv.Value) != "null" {
			out[kv.Key] = true
		}
	}
	return out
}

// Object returns the parameters as a JSON object map.
func (p Params) Object() map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(p))
	for _, kv := range p {
		out[kv.Key] = kv.Value
	}
	return out
}

// size is the controller's measure: key length plus the value's JSON length.
func (p Params) size() int {
	n := 0
	for _, kv := range p {
		n += len(kv.Key) + len(kv.Value)
	}
	return n
}
