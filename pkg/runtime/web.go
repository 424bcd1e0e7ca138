package runtime

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// WebRequest is the HTTP request behind a web action activation, rebuilt from
// the platform's __ow_* parameters.
type WebRequest struct {
	Method  string            // upper case, e.g. "POST"; empty when the action was not called over HTTP
	Path    string            // the path after the action's name, e.g. "/items/1"
	Query   string            // the raw query string; raw HTTP actions only (others get query parameters in Params)
	Headers map[string]string // header names in lower case
	Body    []byte            // the body, base64-decoded when the platform encoded it; empty for non-raw actions whose JSON or form body was merged into Params
	User    string            // namespace of the authenticated caller, if the request carried credentials
	Params  map[string]any    // every parameter except the __ow_* ones
}

// Header returns the value of the named header (case-insensitive).
func (r *WebRequest) Header(name string) string {
	return r.Headers[strings.ToLower(name)]
}

// DecodeParams decodes Params into v (a pointer), as Typed does.
func (r *WebRequest) DecodeParams(v any) error {
	b, err := json.Marshal(r.Params)
	if err != nil {
		return fmt.Errorf("decode parameters: %w", err)
	}
	return DecodeParams(b, v)
}

// WebResponse is what a web action answers. A zero StatusCode means 200.
// Body is sent as text, except for binary content types (image/*,
// application/octet-stream, …), which are base64-encoded for the platform to
// decode. A body without Content-Type that is not valid UTF-8 is sent as
// application/octet-stream.
type WebResponse struct {
	StatusCode int
	Headers    map[string]string
	Body       []byte
}

// JSONResponse returns a response with status and v encoded as JSON.
func JSONResponse(status int, v any) (*WebResponse, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode response body: %w", err)
	}
	return &WebResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: b}, nil
}

// webResult is the {statusCode, headers, body} result of a web action.
type webResult struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       any               `json:"body,omitempty"`
}

// Web returns a Handler for a web action (web: true or web: raw). It rebuilds
// the request from __ow_method, __ow_headers, __ow_path, __ow_query,
// __ow_body and __ow_user, calls f, and encodes its response. An error from f
// (or a malformed request) becomes a response whose status is HTTPStatus(err)
// and whose body is {"error": "<message>"}; it is logged once. A nil response
// means 204 No Content. Panics in f are not recovered here (Serve reports them).
func Web(f func(ctx context.Context, r *WebRequest) (*WebResponse, error)) Handler {
	return HandlerFunc(func(ctx context.Context, params json.RawMessage) (any, error) {
		req, err := decodeWebRequest(params)
		if err != nil {
			return webError(ctx, err), nil
		}
		resp, err := f(ctx, req)
		if err != nil {
			return webError(ctx, err), nil
		}
		out, err := encodeWebResponse(resp)
		if err != nil {
			return webError(ctx, err), nil
		}
		return out, nil
	})
}

// webError turns an error into a response, logging it once.
func webError(ctx context.Context, err error) webResult {
	status := HTTPStatus(err)
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	Logger(ctx).Log(ctx, level, "web action failed", "status", status, "error", err)
	return webResult{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       map[string]string{"error": err.Error()},
	}
}

func decodeWebRequest(params json.RawMessage) (*WebRequest, error) {
	var fields map[string]json.RawMessage
	if !isNull(params) {
		if err := json.Unmarshal(params, &fields); err != nil {
			return nil, Errorf(http.StatusBadRequest, "decode web request: expected parameters as a JSON object: %w", err)
		}
	}
	req := &WebRequest{Headers: map[string]string{}, Params: map[string]any{}}
	var body *string
	for k, raw := range fields {
		var err error
		switch k {
		case "__ow_method":
			err = json.Unmarshal(raw, &req.Method)
			req.Method = strings.ToUpper(req.Method)
		case "__ow_headers":
			var h map[string]string
			err = json.Unmarshal(raw, &h)
			for name, v := range h {
				req.Headers[strings.ToLower(name)] = v
			}
		case "__ow_path":
			err = json.Unmarshal(raw, &req.Path)
		case "__ow_query":
			err = json.Unmarshal(raw, &req.Query)
		case "__ow_user":
			err = json.Unmarshal(raw, &req.User)
		case "__ow_body":
			body = new(string)
			err = json.Unmarshal(raw, body)
		default:
			if strings.HasPrefix(k, "__ow_") {
				continue
			}
			var v any
			err = json.Unmarshal(raw, &v)
			req.Params[k] = v
		}
		if err != nil {
			return nil, Errorf(http.StatusBadRequest, "invalid parameter %q: %w", k, err)
		}
	}
	if body != nil {
		b, err := decodeBody(*body, req.Headers["content-type"])
		if err != nil {
			return nil, err
		}
		req.Body = b
	}
	return req, nil
}

// decodeBody undoes the platform's encoding of __ow_body: base64 for binary
// content types (and for requests without a content type, which the platform
// treats as application/octet-stream), base64 for JSON bodies of raw actions,
// plain text otherwise.
func decodeBody(s, contentType string) ([]byte, error) {
	switch {
	case contentType == "":
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			return b, nil
		}
		return []byte(s), nil
	case isJSONType(contentType):
		if json.Valid([]byte(s)) {
			return []byte(s), nil
		}
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			return b, nil
		}
		return []byte(s), nil
	case isBinaryType(contentType):
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, Errorf(http.StatusBadRequest, "invalid parameter \"__ow_body\": expected base64 for content type %q: %w", contentType, err)
		}
		return b, nil
	default:
		return []byte(s), nil
	}
}

func encodeWebResponse(resp *WebResponse) (webResult, error) {
	if resp == nil {
		return webResult{StatusCode: http.StatusNoContent}, nil
	}
	out := webResult{StatusCode: resp.StatusCode, Headers: resp.Headers}
	if out.StatusCode == 0 {
		out.StatusCode = http.StatusOK
	}
	if len(resp.Body) == 0 {
		return out, nil
	}
	ct, hasCT := header(resp.Headers, "Content-Type")
	switch {
	case !hasCT && !utf8.Valid(resp.Body):
		out.Headers = withHeader(resp.Headers, "Content-Type", "application/octet-stream")
		out.Body = base64.StdEncoding.EncodeToString(resp.Body)
	case !hasCT:
		out.Body = string(resp.Body)
	case isJSONType(ct) && isJSONObject(resp.Body):
		out.Body = json.RawMessage(resp.Body)
	case isJSONType(ct) || !isBinaryType(ct):
		if !utf8.Valid(resp.Body) {
			return webResult{}, fmt.Errorf("encode web response: body is not valid UTF-8 for content type %q", ct)
		}
		out.Body = string(resp.Body)
	default:
		out.Body = base64.StdEncoding.EncodeToString(resp.Body)
	}
	return out, nil
}

func header(h map[string]string, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func withHeader(h map[string]string, name, value string) map[string]string {
	out := make(map[string]string, len(h)+1)
	for k, v := range h {
		out[k] = v
	}
	out[name] = value
	return out
}

func isJSONObject(b []byte) bool {
	t := bytes.TrimSpace(b)
	return len(t) > 0 && t[0] == '{' && json.Valid(t)
}

func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

func isJSONType(contentType string) bool {
	mt := mediaType(contentType)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// isBinaryType reports whether the platform carries bodies of this content
// type base64-encoded: everything except text/*, JSON, XML, JavaScript and
// form data.
func isBinaryType(contentType string) bool {
	mt := mediaType(contentType)
	switch {
	case strings.HasPrefix(mt, "text/"), isJSONType(mt):
		return false
	case strings.HasPrefix(mt, "image/"), strings.HasPrefix(mt, "audio/"), strings.HasPrefix(mt, "video/"):
		return true
	case strings.HasSuffix(mt, "+xml"), mt == "application/xml", mt == "application/javascript",
		mt == "application/ecmascript", mt == "application/x-www-form-urlencoded", mt == "application/graphql":
		return false
	default:
		return true
	}
}
