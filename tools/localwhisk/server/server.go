package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is an OpenWhisk-compatible controller. It is safe for concurrent use.
type Server struct {
	cfg         Config
	log         *slog.Logger
	ids         *identities
	st          *state
	activations *activationRing
	throttle    *throttles
	builtins    map[string]*builtin // docid of the action
	code        *codeCache

	clockMu sync.Mutex
	last    int64

	// base is cancelled by Close; activations started by requests run on it
	// because they outlive the request (non-blocking and timed-out invokes).
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed chan struct{}
	once   sync.Once
}

// New builds a server from cfg, loading the entities of cfg.DataDir.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	ids, err := newIdentities(cfg.Identities)
	if err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	if _, err := url.Parse(cfg.APIHost); err != nil {
		return nil, fmt.Errorf("new server: api host %q: %w", cfg.APIHost, err)
	}
	base, cancel := context.WithCancel(context.Background())
	st, err := newState(base, cfg.DataDir)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("new server: %w", err)
	}
	return &Server{
		cfg:         cfg,
		log:         cfg.Logger,
		ids:         ids,
		st:          st,
		activations: newActivationRing(cfg.ActivationsMax),
		throttle:    newThrottles(cfg.Limits, cfg.NamespaceLimits),
		builtins:    map[string]*builtin{},
		code:        newCodeCache(16),
		base:        base,
		cancel:      cancel,
		closed:      make(chan struct{}),
	}, nil
}

// Close cancels running activations and waits for their goroutines. It does
// not close the Executor, which the caller owns.
func (s *Server) Close() error {
	s.once.Do(func() {
		close(s.closed)
		s.cancel()
	})
	s.wg.Wait()
	return nil
}

// now returns a strictly increasing epoch-millisecond clock for "updated".
func (s *Server) now() int64 {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	n := time.Now().UnixMilli()
	if n <= s.last {
		n = s.last + 1
	}
	s.last = n
	return n
}

// Handler returns the HTTP handler serving the whole API.
func (s *Server) Handler() http.Handler {
	return s.logRequests(http.HandlerFunc(s.route))
}

type ctxKey int

const tidKey ctxKey = 1

func transactionID(r *http.Request) string {
	if r != nil {
		if t, ok := r.Context().Value(tidKey).(string); ok {
			return t
		}
	}
	return newTransactionID()
}

func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Headers", "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent")
	h.Set("Access-Control-Allow-Methods", "GET, DELETE, POST, PUT, HEAD")
}

// segments splits the escaped path and unescapes every segment, keeping a
// trailing empty segment for a trailing slash.
func segments(r *http.Request) ([]string, error) {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	if p == "" {
		return nil, nil
	}
	raw := strings.Split(p, "/")
	out := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, newError(http.StatusBadRequest, msgNameIllegal)
		}
		out[i] = u
	}
	return out, nil
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	segs, err := segments(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	switch {
	case len(segs) == 0:
		if r.Method == http.MethodGet {
			s.serveInfo(w, r)
			return
		}
	case len(segs) >= 2 && segs[0] == "api" && segs[1] == "v1":
		s.routeV1(w, r, segs[2:])
		return
	}
	writeError(w, r, newError(http.StatusNotFound, msgRouteNotFound))
}

func (s *Server) routeV1(w http.ResponseWriter, r *http.Request, segs []string) {
	if len(segs) > 0 && segs[0] == "web" {
		s.serveWeb(w, r, segs[1:])
		return
	}
	setCORS(w.Header())
	if len(segs) == 0 || (len(segs) == 1 && segs[0] == "") {
		if r.Method == http.MethodGet {
			s.serveAPIInfo(w, r)
			return
		}
	}
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusOK)
		return
	}
	if len(segs) == 0 || segs[0] != colNamespaces {
		writeError(w, r, newError(http.StatusNotFound, msgRouteNotFound))
		return
	}
	caller, present, ok := s.ids.authenticate(r)
	if !ok {
		writeError(w, r, unauthorized(present))
		return
	}
	segs = segs[1:]
	if len(segs) == 0 || (len(segs) == 1 && segs[0] == "") {
		if r.Method != http.MethodGet {
			writeError(w, r, methodNotAllowed(http.MethodGet))
			return
		}
		writeJSON(w, http.StatusOK, []string{caller.Namespace})
		return
	}
	ns := segs[0]
	if ns == "_" {
		ns = caller.Namespace
	}
	if !validName(ns) {
		writeError(w, r, newError(http.StatusBadRequest, msgNamespaceIllegal))
		return
	}
	if len(segs) < 2 {
		writeError(w, r, newError(http.StatusNotFound, msgRouteNotFound))
		return
	}
	req := &apiRequest{w: w, r: r, caller: caller, ns: ns, rest: segs[2:]}
	switch segs[1] {
	case colActions:
		s.routeActions(req)
	case colPackages:
		s.routePackages(req)
	case colTriggers:
		s.routeTriggers(req)
	case colRules:
		s.routeRules(req)
	case colActivations:
		s.routeActivations(req)
	case colLimits:
		s.serveLimits(req)
	default:
		writeError(w, r, newError(http.StatusNotFound, msgRouteNotFound))
	}
}

// apiRequest is one authenticated request below /namespaces/{ns}/{collection}.
type apiRequest struct {
	w      http.ResponseWriter
	r      *http.Request
	caller Identity
	ns     string   // resolved namespace of the path
	rest   []string // segments after the collection
}

func (q *apiRequest) fail(err error) { writeError(q.w, q.r, err) }

func (q *apiRequest) ok(v any) { writeJSON(q.w, http.StatusOK, v) }

// entityPath interprets rest: collection (""), name, or pkg+name; pkgList is
// true for "pkg/" (only meaningful for actions).
type entityPath struct {
	collection bool
	pkgList    bool
	pkg        string
	name       string
}

func (q *apiRequest) path(allowPackage bool) (entityPath, error) {
	rest := q.rest
	switch {
	case len(rest) == 0 || (len(rest) == 1 && rest[0] == ""):
		return entityPath{collection: true}, nil
	case len(rest) == 1:
		if err := checkName(rest[0]); err != nil {
			return entityPath{}, err
		}
		return entityPath{name: rest[0]}, nil
	case len(rest) == 2 && allowPackage:
		if err := checkName(rest[0]); err != nil {
			return entityPath{}, err
		}
		if rest[1] == "" {
			return entityPath{pkgList: true, pkg: rest[0]}, nil
		}
		if err := checkName(rest[1]); err != nil {
			return entityPath{}, err
		}
		return entityPath{pkg: rest[0], name: rest[1]}, nil
	}
	return entityPath{}, newError(http.StatusNotFound, msgRouteNotFound)
}

func methodNotAllowed(allowed ...string) *apiError {
	return newError(http.StatusMethodNotAllowed, "HTTP method not allowed, supported methods: "+strings.Join(allowed, ", "))
}

// boolParam reads a boolean query parameter the way the controller does.
func boolParam(r *http.Request, name string, def bool) (bool, error) {
	v, ok := r.URL.Query()[name]
	if !ok || len(v) == 0 {
		return def, nil
	}
	switch strings.ToLower(v[0]) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	}
	return false, malformedQuery(name, fmt.Sprintf("'%s' is not a valid Boolean value", v[0]))
}

func malformedQuery(name, msg string) *apiError {
	return errorf(http.StatusBadRequest, "The query parameter '%s' was malformed:\n%s", name, msg)
}

// listQuery is the skip, limit and count of a list request on collection.
type listQuery struct {
	collection  string
	skip, limit int
	count       bool
}

// parseListQuery reads skip, limit and count for collection.
func parseListQuery(r *http.Request, collection string) (listQuery, error) {
	q := r.URL.Query()
	lq := listQuery{collection: collection, limit: defaultListLimit}
	if v := q.Get("limit"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil {
			return listQuery{}, malformedQuery("limit", fmt.Sprintf("The value '%s' is not an integer for %s.", v, collection))
		}
		if n < 0 || n > maxListLimit {
			return listQuery{}, malformedQuery("limit", fmt.Sprintf("The value '%d' is not in the range of 0 to %d for %s.", n, maxListLimit, collection))
		}
		lq.limit = n
	}
	if v := q.Get("skip"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil {
			return listQuery{}, malformedQuery("skip", fmt.Sprintf("The value '%s' is not an integer for %s.", v, collection))
		}
		if n < 0 {
			return listQuery{}, malformedQuery("skip", fmt.Sprintf("The value '%d' is not greater than or equal to 0 for %s.", n, collection))
		}
		lq.skip = n
	}
	count, err := boolParam(r, "count", false)
	if err != nil {
		return listQuery{}, err
	}
	lq.count = count
	return lq, nil
}

// answerList answers a list request over list (filtered and ordered): the
// count after skip, or the page that skip and limit (0 = no limit) select,
// one row per entry.
func answerList[T any](q *apiRequest, lq listQuery, list []T, row func(T) any) {
	if lq.count {
		q.ok(map[string]int{lq.collection: max(len(list)-lq.skip, 0)})
		return
	}
	from := min(lq.skip, len(list))
	to := len(list)
	if lq.limit > 0 && from+lq.limit < len(list) {
		to = from + lq.limit
	}
	out := make([]any, 0, to-from)
	for _, v := range list[from:to] {
		out = append(out, row(v))
	}
	q.ok(out)
}

// readBody reads the request body up to max bytes; more is a 413.
func readBody(r *http.Request, max int, field string) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > int64(max) {
		return nil, newError(http.StatusRequestEntityTooLarge, msgTooLarge(field, int(r.ContentLength), max))
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(max)+1))
	if err != nil {
		return nil, newError(http.StatusBadRequest, "Failed extracting request body.")
	}
	if len(b) > max {
		n := len(b)
		if rest, err := io.Copy(io.Discard, r.Body); err == nil {
			n += int(rest)
		}
		return nil, newError(http.StatusRequestEntityTooLarge, msgTooLarge(field, n, max))
	}
	return b, nil
}

var errClosed = errors.New("server closed")

func contextWithTID(r *http.Request, tid string) context.Context {
	return context.WithValue(r.Context(), tidKey, tid)
}
