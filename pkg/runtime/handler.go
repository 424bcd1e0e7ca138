package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Handler runs one activation. params is the activation's parameters (a JSON
// object, or an array when the action was invoked with one). The result must
// encode to a JSON object or array; nil stands for {}. Invoke is called for
// one activation at a time, so state kept between calls needs no locking
// against the runtime.
type Handler interface {
	Invoke(ctx context.Context, params json.RawMessage) (any, error)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, params json.RawMessage) (any, error)

// Invoke calls f.
func (f HandlerFunc) Invoke(ctx context.Context, params json.RawMessage) (any, error) {
	return f(ctx, params)
}

// Typed returns a Handler that decodes the parameters into In and calls f.
// Unknown parameters are ignored: actions also receive bound package
// parameters and, from rules, __ow_headers. A parameter of the wrong type
// gives an *Error with status 400 that names it.
func Typed[In, Out any](f func(ctx context.Context, in In) (Out, error)) Handler {
	return HandlerFunc(func(ctx context.Context, params json.RawMessage) (any, error) {
		var in In
		if err := DecodeParams(params, &in); err != nil {
			return nil, err
		}
		out, err := f(ctx, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	})
}

// DecodeParams decodes parameters into v (a pointer). Empty or null params
// leave v untouched. Errors are *Error with status 400 and name the
// offending parameter and the expected type.
func DecodeParams(params json.RawMessage, v any) error {
	if isNull(params) {
		return nil
	}
	if err := json.Unmarshal(params, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			if typeErr.Field == "" {
				return Errorf(http.StatusBadRequest, "decode parameters: expected %s, got %s", typeErr.Type, typeErr.Value)
			}
			return Errorf(http.StatusBadRequest, "invalid parameter %q: expected %s, got %s", typeErr.Field, typeErr.Type, typeErr.Value)
		}
		return Errorf(http.StatusBadRequest, "decode parameters: %w", err)
	}
	return nil
}

// encodeResult encodes a handler's result as one line of JSON. The result
// must be an object or an array, and at most MaxResultSize bytes.
func encodeResult(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	switch {
	case isNull(b):
		return []byte(`{}`), nil
	case b[0] != '{' && b[0] != '[':
		return nil, fmt.Errorf("encode result: expected a JSON object or array, got %s", jsonKind(b[0]))
	case len(b) > MaxResultSize:
		return nil, fmt.Errorf("encode result: result is %d bytes, larger than the limit of %d bytes", len(b), MaxResultSize)
	}
	return b, nil
}

// errorResult encodes {"error": msg}.
func errorResult(err error) []byte {
	b, mErr := json.Marshal(struct {
		Error string `json:"error"`
	}{err.Error()})
	if mErr != nil { // a string always encodes; keep the protocol alive regardless
		return []byte(`{"error":"encode error result"}`)
	}
	return b
}

func jsonKind(c byte) string {
	switch c {
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}
