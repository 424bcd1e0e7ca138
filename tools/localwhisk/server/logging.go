package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// statusWriter records the status and (for verbose logs) the body written.
type statusWriter struct {
	http.ResponseWriter
	status int
	body   *bytes.Buffer
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body != nil && w.body.Len() < maxLoggedBody {
		w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

const maxLoggedBody = 8 << 10

// logRequests assigns a transaction id and logs one line per request.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		tid := newTransactionID()
		r = r.WithContext(contextWithTID(r, tid))
		sw := &statusWriter{ResponseWriter: w}
		var reqBody []byte
		if s.cfg.Verbose {
			sw.body = &bytes.Buffer{}
			if r.Body != nil && r.ContentLength <= maxLoggedBody*16 {
				b, err := io.ReadAll(io.LimitReader(r.Body, maxLoggedBody*16+1))
				if err == nil {
					reqBody = b
					r.Body = io.NopCloser(bytes.NewReader(b))
				}
			}
		}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("request panicked", "transaction_id", tid, "panic", p)
				if sw.status == 0 {
					writeError(sw, r, newError(http.StatusInternalServerError, ""))
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			attrs := []any{
				"method", r.Method, "path", r.URL.Path, "status", status,
				"duration_ms", time.Since(start).Milliseconds(), "transaction_id", tid,
			}
			if s.cfg.Verbose {
				attrs = append(attrs, "request_body", redactBody(reqBody), "response_body", redactBody(sw.body.Bytes()),
					"authorization", redactHeader(r.Header.Get("Authorization")))
			}
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", argsToAttrs(attrs)...)
		}()
		next.ServeHTTP(sw, r)
	})
}

func argsToAttrs(args []any) []slog.Attr {
	out := make([]slog.Attr, 0, len(args)/2)
	for i := 0; i+1 < len(args); i += 2 {
		out = append(out, slog.Any(args[i].(string), args[i+1]))
	}
	return out
}

func redactHeader(v string) string {
	if v == "" {
		return ""
	}
	scheme, _, _ := strings.Cut(v, " ")
	return scheme + " [redacted]"
}

// secretKey reports whether a JSON key names a secret.
func secretKey(k string) bool {
	l := strings.ToLower(k)
	for _, s := range []string{"secret", "authkey", "auth_key", "api_key", "apikey", "password", "authorization", "token", "__ow_api_key"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// redactBody renders a body for the log: JSON with secret values replaced
// (also inside {"key","value"} parameter lists), code reduced to its size,
// anything else truncated.
func redactBody(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		if len(b) > 256 {
			return string(b[:256]) + "…"
		}
		return string(b)
	}
	out, _ := json.Marshal(redactValue(v))
	if len(out) > maxLoggedBody {
		return string(out[:maxLoggedBody]) + "…"
	}
	return string(out)
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if k, ok := t["key"].(string); ok && secretKey(k) {
			if _, has := t["value"]; has {
				t["value"] = "[redacted]"
			}
		}
		for k, val := range t {
			switch {
			case secretKey(k):
				t[k] = "[redacted]"
			case k == "code":
				if s, ok := val.(string); ok && len(s) > 64 {
					t[k] = "[" + itoa(len(s)) + " bytes]"
				}
			default:
				t[k] = redactValue(val)
			}
		}
		return t
	case []any:
		for i := range t {
			t[i] = redactValue(t[i])
		}
		return t
	}
	return v
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
