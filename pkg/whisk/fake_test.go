package whisk_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// testKey has the shape of an OpenWhisk auth key (uuid:64 chars).
const testKey = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"

// fastRetry keeps retry tests quick.
var fastRetry = whisk.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}

// rec is one request seen by the fake.
type rec struct {
	Method  string
	Path    string // decoded
	RawPath string // as sent
	Query   url.Values
	Header  http.Header
	Body    []byte
}

// line renders a request as "METHOD /path?query".
func (r rec) line() string {
	s := r.Method + " " + r.Path
	if len(r.Query) > 0 {
		s += "?" + r.Query.Encode()
	}
	return s
}

// bodyMap decodes the request body as a JSON object.
func (r rec) bodyMap(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body %s", r.Body)
	return m
}

// fake is a small OpenWhisk API at the wire: it checks Basic auth, records
// every request and answers with handlers registered on mux patterns;
// anything else gets OpenWhisk's 404 body.
type fake struct {
	srv *httptest.Server
	mux *http.ServeMux

	mu   sync.Mutex
	reqs []rec
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{mux: http.NewServeMux()}
	f.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		apiError(http.StatusNotFound, "The requested resource does not exist.")(w, nil)
	})
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, rec{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(),
		Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(testKey)) {
		w.Header().Set("WWW-Authenticate", `Basic realm="OpenWhisk secure realm"`)
		apiError(http.StatusUnauthorized, "The supplied authentication is invalid.")(w, r)
		return
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	f.mux.ServeHTTP(w, r)
}

// on registers a handler for a ServeMux pattern such as
// "GET /api/v1/namespaces/_/triggers/{name}".
func (f *fake) on(pattern string, h http.HandlerFunc) { f.mux.HandleFunc(pattern, h) }

func (f *fake) requests() []rec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]rec(nil), f.reqs...)
}

func (f *fake) lines() []string {
	var out []string
	for _, r := range f.requests() {
		out = append(out, r.line())
	}
	return out
}

func (f *fake) client(t *testing.T, opts ...whisk.Option) *whisk.Client {
	t.Helper()
	c, err := whisk.New(f.srv.URL, testKey, append([]whisk.Option{whisk.WithRetry(fastRetry)}, opts...)...)
	require.NoError(t, err)
	return c
}

// reply answers with status and body encoded as JSON (nil: no body).
func reply(status int, body any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if body == nil {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
}

// apiError answers an OpenWhisk API error body.
func apiError(status int, msg string) http.HandlerFunc {
	return reply(status, map[string]any{"error": msg, "code": "4a1b2c3d4e5f60718293a4b5c6d7e8f9"})
}

// withActivationID adds the x-openwhisk-activation-id header.
func withActivationID(id string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-openwhisk-activation-id", id)
		h(w, r)
	}
}

// sequence answers the i-th call with hs[i], repeating the last one.
func sequence(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hs[min(n, len(hs)-1)]
		n++
		mu.Unlock()
		h(w, r)
	}
}

// activation builds an activation record as the API returns it.
func activation(id, status string, result any) map[string]any {
	return map[string]any{
		"namespace": "guest", "name": "a", "subject": "guest", "activationId": id,
		"start": 1700000000000, "end": 1700000000042, "duration": 42,
		"response": map[string]any{"status": status, "success": status == whisk.StatusSuccess, "result": result},
		"logs":     []string{}, "version": "0.0.1", "publish": false,
		"annotations": []map[string]any{{"key": "path", "value": "guest/a"}, {"key": "kind", "value": "go:1.22"}},
	}
}

// triggerStore is a stateful trigger collection for namespace "_" (owner
// "guest"), answering PUT (with overwrite semantics), GET and DELETE.
type triggerStore struct {
	mu   sync.Mutex
	docs map[string]map[string]any
}

func (f *fake) triggers() *triggerStore {
	s := &triggerStore{docs: map[string]map[string]any{}}
	const p = "/api/v1/namespaces/_/triggers/{name}"
	f.on("PUT "+p, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		name := r.PathValue("name")
		if _, ok := s.docs[name]; ok && r.URL.Query().Get("overwrite") != "true" {
			apiError(http.StatusConflict, "resource already exists")(w, r)
			return
		}
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			apiError(http.StatusBadRequest, "The request content was malformed.")(w, r)
			return
		}
		doc := map[string]any{"namespace": "guest", "name": name, "version": "0.0.1", "publish": false,
			"annotations": in["annotations"], "parameters": in["parameters"], "limits": map[string]any{},
			"updated": 1700000000000}
		s.docs[name] = doc
		reply(http.StatusOK, doc)(w, r)
	})
	f.on("GET "+p, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		doc, ok := s.docs[r.PathValue("name")]
		if !ok {
			apiError(http.StatusNotFound, "The requested resource does not exist.")(w, r)
			return
		}
		reply(http.StatusOK, doc)(w, r)
	})
	f.on("DELETE "+p, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		doc, ok := s.docs[r.PathValue("name")]
		if !ok {
			apiError(http.StatusNotFound, "The requested resource does not exist.")(w, r)
			return
		}
		delete(s.docs, r.PathValue("name"))
		reply(http.StatusOK, doc)(w, r)
	})
	return s
}

func (s *triggerStore) has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.docs[name]
	return ok
}
