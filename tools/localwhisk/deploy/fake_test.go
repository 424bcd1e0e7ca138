package deploy_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// testKey has the shape of an OpenWhisk auth key (uuid:64 chars).
const testKey = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"

// ownNamespace is what "_" stands for in the fake.
const ownNamespace = "guest"

// rec is one request seen by the fake.
type rec struct {
	Method string
	Path   string // decoded
	Query  url.Values
	Header http.Header
	Body   []byte
}

// line renders a request as "METHOD /path?query" (query keys sorted).
func (r rec) line() string {
	s := r.Method + " " + r.Path
	if len(r.Query) > 0 {
		s += "?" + r.Query.Encode()
	}
	return s
}

// body decodes the request body as a JSON object.
func (r rec) body(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body of %s: %s", r.line(), r.Body)
	return m
}

// fakeWhisk is an OpenWhisk API at the wire: GET / with the runtimes,
// entities under /api/v1/namespaces/{ns}/{packages|actions|triggers|rules}
// stored as sent (with the checks of the real controller that matter for
// ordering: an action needs its package, a rule its trigger and action), rule
// status, and invocations of feed actions, which succeed unless told to fail.
// It records every request.
type fakeWhisk struct {
	srv *httptest.Server

	mu        sync.Mutex
	reqs      []rec
	store     map[string]map[string]any // "packages/p", "actions/p/a", "triggers/t", "rules/r" (own namespace)
	ruleState map[string]string
	feedFail  map[string]string // "/ns/pkg/feed EVENT" → error message of a failing invocation
	pending   map[string]bool   // "/ns/pkg/feed EVENT" → answer 202: still running after the wait
	conflicts map[string]int    // "PUT /api/v1/…" → 409 concurrent modification answers left
}

func newFakeWhisk(t *testing.T) *fakeWhisk {
	t.Helper()
	f := &fakeWhisk{
		store:     map[string]map[string]any{},
		ruleState: map[string]string{},
		feedFail:  map[string]string{},
		pending:   map[string]bool{},
		conflicts: map[string]int{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// requests returns the requests seen so far and forgets them.
func (f *fakeWhisk) requests() []rec {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.reqs
	f.reqs = nil
	return out
}

func lines(reqs []rec) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.line()
	}
	return out
}

// keys lists the stored entities.
func (f *fakeWhisk) keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.store {
		out = append(out, k)
	}
	return out
}

func (f *fakeWhisk) entity(key string) (map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.store[key]
	return e, ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg, "code": "f1e2d3c4b5a6"})
}

func (f *fakeWhisk) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, rec{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})

	if r.URL.Path == "/" && r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, map[string]any{
			"description": "OpenWhisk",
			"api_paths":   []string{"/api/v1"},
			"runtimes": map[string]any{"go": []map[string]any{
				{"kind": "go:1.21", "deprecated": true},
				{"kind": "go:1.22"},
				{"kind": "go:1.24", "default": true},
			}},
		})
		return
	}
	if r.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(testKey)) {
		w.Header().Set("WWW-Authenticate", `Basic realm="OpenWhisk secure realm"`)
		apiError(w, http.StatusUnauthorized, "The supplied authentication is invalid")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/namespaces/")
	if !ok {
		apiError(w, http.StatusNotFound, "The requested resource does not exist.")
		return
	}
	ns, key, _ := strings.Cut(rest, "/")
	if ns == "_" {
		ns = ownNamespace
	}
	if left := f.conflicts[r.Method+" "+r.URL.Path]; left > 0 {
		f.conflicts[r.Method+" "+r.URL.Path] = left - 1
		apiError(w, http.StatusConflict, "Concurrent modification to resource detected.")
		return
	}
	coll, name, _ := strings.Cut(key, "/")
	if coll == "actions" && r.Method == http.MethodPost {
		f.invoke(w, "/"+ns+"/"+name, body)
		return
	}
	if ns != ownNamespace {
		apiError(w, http.StatusForbidden, "The supplied authentication is not authorized to access this resource.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		e, ok := f.store[key]
		if !ok {
			apiError(w, http.StatusNotFound, "The requested resource does not exist.")
			return
		}
		if coll == "rules" {
			e["status"] = f.ruleState[key]
		}
		writeJSON(w, http.StatusOK, e)
	case http.MethodDelete:
		e, ok := f.store[key]
		if !ok {
			apiError(w, http.StatusNotFound, "The requested resource does not exist.")
			return
		}
		delete(f.store, key)
		writeJSON(w, http.StatusOK, e)
	case http.MethodPut:
		f.put(w, r, coll, name, key, body)
	case http.MethodPost:
		if coll != "rules" {
			apiError(w, http.StatusMethodNotAllowed, "Method not allowed")
			return
		}
		if _, ok := f.store[key]; !ok {
			apiError(w, http.StatusNotFound, "The requested resource does not exist.")
			return
		}
		var b struct{ Status string }
		_ = json.Unmarshal(body, &b)
		f.ruleState[key] = b.Status
		writeJSON(w, http.StatusOK, map[string]any{})
	default:
		apiError(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
}

func (f *fakeWhisk) put(w http.ResponseWriter, r *http.Request, coll, name, key string, body []byte) {
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		apiError(w, http.StatusBadRequest, "The request content was malformed")
		return
	}
	if _, exists := f.store[key]; exists && r.URL.Query().Get("overwrite") != "true" {
		apiError(w, http.StatusConflict, "resource already exists")
		return
	}
	switch coll {
	case "actions":
		pkg, _, inPkg := strings.Cut(name, "/")
		if _, ok := f.store["packages/"+pkg]; inPkg && !ok {
			apiError(w, http.StatusNotFound, "The requested resource does not exist.")
			return
		}
	case "rules":
		for _, field := range []string{"trigger", "action"} {
			s, _ := e[field].(string)
			ref := strings.TrimPrefix(strings.TrimPrefix(s, "/_/"), "/"+ownNamespace+"/")
			if _, ok := f.store[field+"s/"+ref]; !ok {
				apiError(w, http.StatusBadRequest, field+" "+s+" does not exist")
				return
			}
		}
		if _, exists := f.store[key]; !exists {
			f.ruleState[key] = "active"
		}
	}
	e["name"] = name
	e["namespace"] = ownNamespace
	f.store[key] = e
	writeJSON(w, http.StatusOK, e)
}

// invoke answers a blocking invocation with an activation; a failing feed
// call gets a 502 application error (a body without "code"), a pending one a
// 202 with the activation id.
func (f *fakeWhisk) invoke(w http.ResponseWriter, action string, body []byte) {
	var params map[string]any
	_ = json.Unmarshal(body, &params)
	id := fmt.Sprintf("%032x", len(f.reqs))
	w.Header().Set("X-Openwhisk-Activation-Id", id)
	call := fmt.Sprintf("%s %v", action, params["lifecycleEvent"])
	if f.pending[call] {
		writeJSON(w, http.StatusAccepted, map[string]any{"activationId": id})
		return
	}
	if msg, fail := f.feedFail[call]; fail {
		writeJSON(w, http.StatusBadGateway, map[string]any{
			"activationId": id, "namespace": ownNamespace, "name": action,
			"response": map[string]any{"status": "application error", "success": false, "result": map[string]any{"error": msg}},
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"activationId": id, "namespace": ownNamespace, "name": action,
		"response": map[string]any{"status": "success", "success": true, "result": map[string]any{}},
	})
}
