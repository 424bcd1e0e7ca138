package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

func (s *Server) routeTriggers(q *apiRequest) {
	p, err := q.path(false)
	if err != nil {
		q.fail(err)
		return
	}
	if p.collection {
		if q.r.Method != http.MethodGet {
			q.fail(methodNotAllowed(http.MethodGet))
			return
		}
		if err := s.entitle(q.caller, rightRead, resource{collection: colTriggers, ns: q.ns}); err != nil {
			q.fail(err)
			return
		}
		s.listTriggers(q)
		return
	}
	res := resource{collection: colTriggers, ns: q.ns, name: p.name}
	switch q.r.Method {
	case http.MethodGet:
		s.getTrigger(q, res)
	case http.MethodPut:
		s.putTrigger(q, res)
	case http.MethodDelete:
		s.deleteTrigger(q, res)
	case http.MethodPost:
		s.fireTrigger(q, res)
	default:
		q.fail(methodNotAllowed(http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost))
	}
}

func (s *Server) listTriggers(q *apiRequest) {
	skip, limit, count, err := listParams(q.r, colTriggers)
	if err != nil {
		q.fail(err)
		return
	}
	s.st.mu.RLock()
	var list []*Trigger
	for _, t := range s.st.triggers {
		if t.Namespace == q.ns {
			list = append(list, t)
		}
	}
	s.st.mu.RUnlock()
	sortNewest(list, func(t *Trigger) int64 { return t.Updated }, func(t *Trigger) string { return t.Name })
	if count {
		q.ok(map[string]int{colTriggers: max(len(list)-skip, 0)})
		return
	}
	from, to := page(len(list), skip, limit)
	out := make([]any, 0, to-from)
	for _, t := range list[from:to] {
		out = append(out, t.summary())
	}
	q.ok(out)
}

// lookupLocked returns the trigger, 404, or 409 when the name is another kind.
func (s *Server) triggerLocked(id string) (*Trigger, error) {
	t := s.st.triggers[id]
	if t == nil {
		if err := s.st.conflictIfOther(id, colTriggers); err != nil {
			return nil, err
		}
		return nil, newError(http.StatusNotFound, "")
	}
	return t, nil
}

func (s *Server) getTrigger(q *apiRequest, res resource) {
	if err := s.entitle(q.caller, rightRead, res); err != nil {
		q.fail(err)
		return
	}
	s.st.mu.RLock()
	t, err := s.triggerLocked(res.ns + "/" + res.name)
	s.st.mu.RUnlock()
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(t)
}

// triggerPut is the PUT body of a trigger.
type triggerPut struct {
	Parameters  *Params         `json:"parameters"`
	Limits      json.RawMessage `json:"limits"`
	Version     *string         `json:"version"`
	Publish     *bool           `json:"publish"`
	Annotations *Params         `json:"annotations"`
}

func (s *Server) putTrigger(q *apiRequest, res resource) {
	if err := s.entitle(q.caller, rightPut, res); err != nil {
		q.fail(err)
		return
	}
	overwrite, err := boolParam(q.r, "overwrite", false)
	if err != nil {
		q.fail(err)
		return
	}
	var body triggerPut
	if err := decodeBody(q, &body); err != nil {
		q.fail(err)
		return
	}
	if err := sizeChecks(nil, body.Parameters, body.Annotations); err != nil {
		q.fail(err)
		return
	}
	if err := validVersion(body.Version); err != nil {
		q.fail(err)
		return
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	id := res.ns + "/" + res.name
	if err := s.st.conflictIfOther(id, colTriggers); err != nil {
		q.fail(err)
		return
	}
	old := s.st.triggers[id]
	var t Trigger
	switch {
	case old != nil && !overwrite:
		q.fail(newError(http.StatusConflict, msgExists))
		return
	case old != nil:
		t = *old
		if body.Parameters != nil {
			t.Parameters = *body.Parameters
		}
		if body.Version != nil {
			t.Version = *body.Version
		} else {
			t.Version = upPatch(old.Version)
		}
		if body.Publish != nil {
			t.Publish = *body.Publish
		}
		if body.Annotations != nil {
			t.Annotations = *body.Annotations
		}
	default:
		t = Trigger{Namespace: res.ns, Name: res.name, Version: initialVersion, Parameters: Params{}, Annotations: Params{}}
		if body.Parameters != nil {
			t.Parameters = *body.Parameters
		}
		if body.Version != nil {
			t.Version = *body.Version
		}
		if body.Publish != nil {
			t.Publish = *body.Publish
		}
		if body.Annotations != nil {
			t.Annotations = *body.Annotations
		}
		// the feed annotation is validated on create and kept verbatim
		if v, ok := t.Annotations.Get(annotationFeed); ok {
			var f string
			if json.Unmarshal(v, &f) != nil || !validEntityPath(f) {
				q.fail(newError(http.StatusBadRequest, msgFeedInvalid))
				return
			}
		}
	}
	t.Updated = s.now()
	if err := s.st.putTrigger(q.r.Context(), &t); err != nil {
		q.fail(err)
		return
	}
	q.ok(&t)
}

func (s *Server) deleteTrigger(q *apiRequest, res resource) {
	if err := s.entitle(q.caller, rightDelete, res); err != nil {
		q.fail(err)
		return
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	id := res.ns + "/" + res.name
	t, err := s.triggerLocked(id)
	if err != nil {
		q.fail(err)
		return
	}
	if err := s.st.deleteTrigger(q.r.Context(), id); err != nil {
		q.fail(err)
		return
	}
	q.ok(t)
}

// requestHeaders is __ow_headers: every request header with a lower-cased
// name (the last value of a repeated header), plus host and content-type.
func requestHeaders(r *http.Request) map[string]string {
	h := map[string]string{}
	for k, vs := range r.Header {
		if len(vs) == 0 || strings.EqualFold(k, "Timeout-Access") || strings.EqualFold(k, "Content-Length") {
			continue
		}
		h[strings.ToLower(k)] = vs[len(vs)-1]
	}
	if r.Host != "" {
		h["host"] = r.Host
	}
	return h
}

// ruleResult is one line of a trigger activation's logs.
type ruleResult struct {
	Rule         string `json:"rule"`
	Action       string `json:"action"`
	StatusCode   int    `json:"statusCode"`
	Success      bool   `json:"success"`
	ActivationID string `json:"activationId,omitempty"`
	Error        string `json:"error,omitempty"`
}

func (s *Server) fireTrigger(q *apiRequest, res resource) {
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
	payload, err := parsePayload(body)
	if err != nil {
		q.fail(err)
		return
	}
	s.st.mu.RLock()
	t, err := s.triggerLocked(res.ns + "/" + res.name)
	s.st.mu.RUnlock()
	if err != nil {
		q.fail(err)
		return
	}
	var links ruleLinks
	if t.Rules != nil {
		links = *t.Rules
	}
	active := false
	for _, l := range links {
		active = active || l.Status == "active"
	}
	if !active {
		q.w.WriteHeader(http.StatusNoContent)
		return
	}
	id := newActivationID()
	result := json.RawMessage(compactJSON(body))
	if payload == nil {
		result = json.RawMessage("{}")
	}
	rec := &Activation{
		Namespace: q.caller.Namespace, Name: t.Name, Subject: q.caller.Namespace, ActivationID: id,
		Start: received.UnixMilli(), Response: activationResponse{statusCode: statusSuccess, Result: result},
		Logs: []string{}, Version: t.Version, Annotations: Params{}, filterName: t.Name,
	}
	// rule actions get trigger parameters < (__ow_headers ∪ fire payload)
	args := t.Parameters.Object()
	hb, _ := json.Marshal(requestHeaders(q.r))
	args["__ow_headers"] = hb
	for k, v := range payload {
		args[k] = v
	}
	tid := transactionID(q.r)
	caller := q.caller
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, l := range links {
			action := fqnFromPathName(l.Action)
			rr := ruleResult{Rule: l.Rule, Action: action.String()}
			if l.Status != "active" {
				rr.StatusCode = statusApplicationError
				rr.Error = "Rule '" + l.Rule + "' is inactive, action '" + action.String() + "' was not activated."
			} else if aid, err := s.invokeInternal(caller, action, args, tid); err != nil {
				ae := asAPIError(err)
				rr.StatusCode = statusApplicationError
				if ae.status >= 500 {
					rr.StatusCode = statusWhiskError
				}
				rr.Error = ae.message
			} else {
				rr.Success = true
				rr.ActivationID = aid
			}
			line, _ := json.Marshal(rr)
			rec.Logs = append(rec.Logs, string(line))
		}
		s.activations.add(rec)
	}()
	accepted(q.w, id)
}
