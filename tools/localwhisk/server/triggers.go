package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

func (s *Server) routeTriggers(q *apiRequest) {
	s.routeNamed(q, colTriggers, namedRoutes{
		list: func(q *apiRequest) {
			listNamed(s, q, colTriggers, s.st.triggers, nil, func(t *Trigger) any { return t.summary() })
		},
		get: s.getTrigger, put: s.putTrigger, del: s.deleteTrigger, post: s.fireTrigger,
	})
}

// trigger returns the trigger res, 404, or 409 when the name is another kind.
func (s *Server) trigger(res resource) (*Trigger, error) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	return lookupLocked(s.st, s.st.triggers, res.ns+"/"+res.name, colTriggers)
}

func (s *Server) getTrigger(q *apiRequest, res resource) {
	if err := s.entitle(q.caller, rightRead, res); err != nil {
		q.fail(err)
		return
	}
	t, err := s.trigger(res)
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
	var body triggerPut
	overwrite, err := s.readPut(q, res, &body)
	if err != nil {
		q.fail(err)
		return
	}
	if err := checkPut(nil, body.Parameters, body.Annotations, body.Version); err != nil {
		q.fail(err)
		return
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	old, err := replaceableLocked(s.st, s.st.triggers, res.ns+"/"+res.name, res, overwrite)
	if err != nil {
		q.fail(err)
		return
	}
	t := Trigger{Namespace: res.ns, Name: res.name, Parameters: Params{}, Annotations: Params{}}
	if old != nil {
		t = *old
	}
	setIf(&t.Parameters, body.Parameters)
	t.Version = putVersion(body.Version, old != nil, t.Version)
	setIf(&t.Publish, body.Publish)
	setIf(&t.Annotations, body.Annotations)
	// the feed annotation is validated on create and kept verbatim
	if v, ok := t.Annotations.Get(annotationFeed); ok && old == nil {
		var f string
		if json.Unmarshal(v, &f) != nil || !validEntityPath(f) {
			q.fail(newError(http.StatusBadRequest, msgFeedInvalid))
			return
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
	t, err := deletableLocked(s.st, s.st.triggers, id, res)
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
	t, err := s.trigger(res)
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
