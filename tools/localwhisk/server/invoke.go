package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/runner"
)

// resolvedAction is an action found through its package or binding, with
// its effective parameters: package < binding < action.
type resolvedAction struct {
	action  *Action
	params  Params
	binding string // "ns/binding" when addressed through a binding
}

// resolveAction finds the action fqn names, following one binding.
func (s *Server) resolveAction(fqn FQN) (*resolvedAction, error) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	return s.resolveActionLocked(fqn)
}

func (s *Server) resolveActionLocked(fqn FQN) (*resolvedAction, error) {
	if fqn.Package == "" {
		id := fqn.String()
		a := s.st.actions[id]
		if a == nil {
			if s.st.kindOf(id) != "" {
				return nil, newError(http.StatusConflict, msgConformance)
			}
			return nil, newError(http.StatusNotFound, "")
		}
		return &resolvedAction{action: a, params: a.Parameters}, nil
	}
	pkgID := fqn.Namespace + "/" + fqn.Package
	p := s.st.packages[pkgID]
	if p == nil {
		if s.st.kindOf(pkgID) != "" {
			return nil, newError(http.StatusConflict, msgConformance)
		}
		return nil, newError(http.StatusNotFound, "")
	}
	ra := &resolvedAction{params: p.Parameters}
	realPkg := pkgID
	if p.Binding != nil {
		realPkg = p.Binding.Namespace + "/" + p.Binding.Name
		target := s.st.packages[realPkg]
		if target == nil || target.Binding != nil {
			return nil, newError(http.StatusNotFound, "")
		}
		ra.params = target.Parameters.Merge(p.Parameters)
		ra.binding = pkgID
	}
	a := s.st.actions[realPkg+"/"+fqn.Name]
	if a == nil {
		return nil, newError(http.StatusNotFound, "")
	}
	ra.action = a
	ra.params = ra.params.Merge(a.Parameters)
	return ra, nil
}

// checkFinal rejects payload keys that override defined parameters of an
// action annotated final.
func checkFinal(ra *resolvedAction, payload map[string]json.RawMessage, reserved ...string) error {
	protected := map[string]bool{}
	if ra.action.Annotations.Bool(annotationFinal) {
		protected = ra.params.Defined()
	}
	for _, k := range reserved {
		protected[k] = true
	}
	for k := range payload {
		if protected[k] {
			return newError(http.StatusBadRequest, msgParamsNotAllowed)
		}
	}
	return nil
}

// invocation is one activation to start.
type invocation struct {
	caller   Identity // the activation runs as (and is recorded for) caller
	ra       *resolvedAction
	payload  map[string]json.RawMessage
	tid      string
	received time.Time
}

// launch starts the activation in the background and returns its id and a
// channel delivering the finished record.
func (s *Server) launch(inv invocation) (string, <-chan *Activation, error) {
	select {
	case <-s.closed:
		return "", nil, newError(http.StatusServiceUnavailable, "")
	default:
	}
	id := newActivationID()
	done := make(chan *Activation, 1)
	s.throttle.started(inv.caller.Namespace)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.throttle.finished(inv.caller.Namespace)
		rec := s.execute(s.base, inv, id)
		s.activations.add(rec)
		done <- rec
	}()
	return id, done, nil
}

// execute runs the action and builds its activation record.
func (s *Server) execute(ctx context.Context, inv invocation, id string) *Activation {
	a := inv.ra.action
	timeout := time.Duration(a.Limits.Timeout) * time.Millisecond

	args := inv.ra.params.Object()
	for k, v := range inv.payload {
		args[k] = v
	}
	env := map[string]string{}
	for _, kv := range inv.ra.params {
		if !kv.Init {
			continue
		}
		v := args[kv.Key]
		delete(args, kv.Key)
		var str string
		if err := json.Unmarshal(v, &str); err == nil {
			env[kv.Key] = str
		} else {
			env[kv.Key] = string(v)
		}
	}
	argsJSON, err := json.Marshal(args)
	if err != nil {
		argsJSON = []byte("{}")
	}
	apiKey := ""
	if v, ok := a.Annotations.Get(annotationProvideAPIKey); !ok || string(v) == "true" {
		apiKey = inv.caller.AuthKey()
	}

	var r runner.Result
	if a.builtin != nil {
		r = s.runBuiltin(ctx, a.builtin, argsJSON, inv.caller, id, timeout)
	} else {
		r = s.runCode(ctx, a, inv, id, argsJSON, env, apiKey, timeout)
	}
	return s.record(inv, id, r)
}

func (s *Server) runCode(ctx context.Context, a *Action, inv invocation, id string, args []byte, env map[string]string, apiKey string, timeout time.Duration) runner.Result {
	start := time.Now()
	if s.cfg.Executor == nil {
		return failed(start, runner.InternalError, "localwhisk has no executor for code actions")
	}
	code := s.code.get(a)
	fqn := a.fqn()
	logMax := a.Limits.Logs << 20
	if logMax == 0 {
		logMax = 1
	}
	spec := runner.Spec{
		Key:     specKey(a, env),
		Code:    code,
		Env:     env,
		Timeout: timeout,
		Memory:  a.Limits.Memory,
		LogMax:  logMax,
		Kind:    a.Exec.Kind,
	}
	act := runner.Activation{
		Value:         args,
		ActionName:    fqn.WithSlash(),
		ActionVersion: a.Version,
		Namespace:     inv.caller.Namespace,
		ActivationID:  id,
		TransactionID: inv.tid,
		APIHost:       s.cfg.APIHost,
		APIKey:        apiKey,
		Deadline:      start.Add(timeout),
	}
	return s.cfg.Executor.Run(ctx, spec, act)
}

// specKey identifies one version of the code and its init environment.
func specKey(a *Action, env map[string]string) string {
	key := fmt.Sprintf("%s@%s#%d", a.fqn().String(), a.Version, a.Updated)
	if len(env) == 0 {
		return key
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\x00", k, env[k])
	}
	return fmt.Sprintf("%s#env-%x", key, h.Sum(nil)[:8])
}

func failed(start time.Time, st runner.Status, msg string) runner.Result {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return runner.Result{Status: st, Response: b, Start: start, End: time.Now()}
}

// record turns a runner result into the activation record, re-checking the
// result shape the way the invoker does.
func (s *Server) record(inv invocation, id string, r runner.Result) *Activation {
	a := inv.ra.action
	fqn := a.fqn()
	if r.Start.IsZero() {
		r.Start = time.Now()
	}
	if r.End.IsZero() || r.End.Before(r.Start) {
		r.End = time.Now()
	}
	code := statusSuccess
	switch r.Status {
	case runner.ApplicationError:
		code = statusApplicationError
	case runner.DeveloperError:
		code = statusDeveloperError
	case runner.InternalError:
		code = statusWhiskError
	}
	result := json.RawMessage(compactJSON(r.Response))
	if len(result) == 0 {
		result = json.RawMessage("{}")
	}
	size := len(result)
	if code == statusDeveloperError && strings.Contains(string(result), msgResultTooLargePrefix) {
		// the invoker reports an oversized result as an application error
		code = statusApplicationError
	}
	if code == statusSuccess {
		var obj map[string]json.RawMessage
		var arr []json.RawMessage
		switch {
		case json.Unmarshal(result, &obj) == nil && obj != nil:
			if e, ok := obj["error"]; ok {
				// an application error keeps only its error field
				code = statusApplicationError
				result, _ = json.Marshal(map[string]json.RawMessage{"error": e})
			}
		case json.Unmarshal(result, &arr) == nil && arr != nil:
		default:
			code = statusDeveloperError
			result = errorResult("The action did not produce a valid JSON or JSON Array response: " + string(result))
		}
	}
	if size > resultMax {
		code = statusApplicationError
		msg := fmt.Sprintf("%s %d > %d bytes. The truncated response was: %s",
			msgResultTooLargePrefix, size, resultMax, string(result[:resultMax]))
		result = errorResult(msg)
	}
	dur := r.End.Sub(r.Start).Milliseconds()
	ann := Params{}.
		SetAny("limits", a.Limits).
		SetAny("path", fqn.String()).
		SetAny("kind", a.Exec.Kind).
		SetAny("timeout", r.TimedOut)
	if r.InitTime > 0 {
		ann = ann.SetAny("initTime", r.InitTime.Milliseconds())
	}
	ann = ann.SetAny("waitTime", max(r.Start.Sub(inv.received).Milliseconds(), 0))
	filter := a.Name
	if inv.ra.binding != "" {
		ann = ann.SetAny(annotationBinding, inv.ra.binding)
		_, b, _ := strings.Cut(inv.ra.binding, "/")
		filter = b + "/" + a.Name
	} else if fqn.Package != "" {
		filter = fqn.Package + "/" + a.Name
	}
	logs := r.Logs
	if logs == nil {
		logs = []string{}
	}
	return &Activation{
		Namespace:    inv.caller.Namespace,
		Name:         a.Name,
		Subject:      inv.caller.Namespace,
		ActivationID: id,
		Start:        r.Start.UnixMilli(),
		End:          max(r.End.UnixMilli(), r.Start.UnixMilli()),
		Duration:     &dur,
		Response:     activationResponse{statusCode: code, Result: result, Size: &size},
		Logs:         logs,
		Version:      a.Version,
		Annotations:  ann,
		filterName:   filter,
	}
}

const msgResultTooLargePrefix = "The action produced a response that exceeded the allowed length:"

func errorResult(msg string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return b
}

// parsePayload reads an optional JSON object body.
func parsePayload(b []byte) (map[string]json.RawMessage, error) {
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, malformed("Object expected")
	}
	return m, nil
}

func actionResource(fqn FQN) resource {
	return resource{collection: colActions, ns: fqn.Namespace, pkg: fqn.Package, name: fqn.Name}
}

// invokeActionAPI serves POST /namespaces/{ns}/actions/[{pkg}/]{name}.
func (s *Server) invokeActionAPI(q *apiRequest, fqn FQN, res resource) {
	received := time.Now()
	if err := s.entitle(q.caller, rightActivate, res); err != nil {
		q.fail(err)
		return
	}
	body, err := readBody(q.r, payloadMax, "Request")
	if err != nil {
		q.fail(err)
		return
	}
	blocking, err := boolParam(q.r, "blocking", false)
	if err != nil {
		q.fail(err)
		return
	}
	resultOnly, err := boolParam(q.r, "result", false)
	if err != nil {
		q.fail(err)
		return
	}
	wait := s.cfg.MaxBlockingWait
	if v := q.r.URL.Query().Get("timeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > maxBlockingWaitMillis {
			q.fail(malformedQuery("timeout", fmt.Sprintf("Timeout must be number of milliseconds up to %d.", maxBlockingWaitMillis)))
			return
		}
		wait = min(time.Duration(n)*time.Millisecond, wait)
	}
	payload, err := parsePayload(body)
	if err != nil {
		q.fail(err)
		return
	}
	ra, err := s.resolveAction(fqn)
	if err != nil {
		q.fail(err)
		return
	}
	if err := checkFinal(ra, payload); err != nil {
		q.fail(err)
		return
	}
	id, done, err := s.launch(invocation{caller: q.caller, ra: ra, payload: payload, tid: transactionID(q.r), received: received})
	if err != nil {
		q.fail(err)
		return
	}
	if !blocking {
		accepted(q.w, id)
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case rec := <-done:
		respondActivation(q.w, rec, resultOnly)
	case <-timer.C:
		accepted(q.w, id)
	case <-q.r.Context().Done():
	}
}

func accepted(w http.ResponseWriter, id string) {
	w.Header().Set(headerActivationID, id)
	writeJSON(w, http.StatusAccepted, map[string]string{"activationId": id})
}

// respondActivation answers a finished blocking invoke.
func respondActivation(w http.ResponseWriter, rec *Activation, resultOnly bool) {
	w.Header().Set(headerActivationID, rec.ActivationID)
	status := http.StatusOK
	switch rec.Response.statusCode {
	case statusApplicationError, statusDeveloperError:
		status = http.StatusBadGateway
	case statusWhiskError:
		status = http.StatusInternalServerError
	}
	var body any = rec
	res := strings.TrimSpace(string(rec.Response.Result))
	switch {
	case strings.HasPrefix(res, "["):
		body = rec.Response.Result
	case resultOnly:
		body = rec.Response.Result
	}
	writeJSON(w, status, body)
}

// invokeInternal starts a non-blocking invocation the way the controller's
// own POST does for a fired rule: entitlement and throttles of caller,
// final-parameter check, then launch.
func (s *Server) invokeInternal(caller Identity, target FQN, payload map[string]json.RawMessage, tid string) (string, error) {
	received := time.Now()
	if err := s.entitle(caller, rightActivate, actionResource(target)); err != nil {
		return "", err
	}
	if b, _ := json.Marshal(payload); len(b) > payloadMax {
		return "", newError(http.StatusRequestEntityTooLarge, msgTooLarge("Request", len(b), payloadMax))
	}
	ra, err := s.resolveAction(target)
	if err != nil {
		return "", err
	}
	if err := checkFinal(ra, payload); err != nil {
		return "", err
	}
	id, _, err := s.launch(invocation{caller: caller, ra: ra, payload: payload, tid: tid, received: received})
	return id, err
}

// codeCache keeps decoded zips of recently run actions.
type codeCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]codeEntry
}

type codeEntry struct {
	updated int64
	code    []byte
}

func newCodeCache(max int) *codeCache {
	return &codeCache{max: max, entries: map[string]codeEntry{}}
}

func (c *codeCache) get(a *Action) []byte {
	id := a.fqn().String()
	c.mu.Lock()
	if e, ok := c.entries[id]; ok && e.updated == a.Updated {
		c.mu.Unlock()
		return e.code
	}
	c.mu.Unlock()
	var code []byte
	if a.Exec.Binary {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(a.Exec.Code))
		if err == nil {
			code = b
		}
	}
	if code == nil {
		code = []byte(a.Exec.Code)
	}
	c.mu.Lock()
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[id] = codeEntry{updated: a.Updated, code: code}
	c.mu.Unlock()
	return code
}

func (c *codeCache) forget(id string) {
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}
