package server

import (
	"net/http"
	"strings"
)

func (s *Server) routeRules(q *apiRequest) {
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
		if err := s.entitle(q.caller, rightRead, resource{collection: colRules, ns: q.ns}); err != nil {
			q.fail(err)
			return
		}
		s.listRules(q)
		return
	}
	res := resource{collection: colRules, ns: q.ns, name: p.name}
	switch q.r.Method {
	case http.MethodGet:
		s.getRule(q, res)
	case http.MethodPut:
		s.putRule(q, res)
	case http.MethodDelete:
		s.deleteRule(q, res)
	case http.MethodPost:
		s.setRuleStatus(q, res)
	default:
		q.fail(methodNotAllowed(http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost))
	}
}

func (s *Server) listRules(q *apiRequest) {
	skip, limit, count, err := listParams(q.r, colRules)
	if err != nil {
		q.fail(err)
		return
	}
	s.st.mu.RLock()
	var list []*Rule
	for _, r := range s.st.rules {
		if r.Namespace == q.ns {
			list = append(list, r)
		}
	}
	s.st.mu.RUnlock()
	sortNewest(list, func(r *Rule) int64 { return r.Updated }, func(r *Rule) string { return r.Name })
	if count {
		q.ok(map[string]int{colRules: max(len(list)-skip, 0)})
		return
	}
	from, to := page(len(list), skip, limit)
	out := make([]any, 0, to-from)
	for _, r := range list[from:to] {
		out = append(out, r)
	}
	q.ok(out)
}

// ruleStatusLocked reads a rule's status from its trigger (missing: inactive).
func (s *Server) ruleStatusLocked(r *Rule) string {
	t := s.st.triggers[fqnFromPathName(r.Trigger).String()]
	if t == nil {
		return "inactive"
	}
	if l, ok := t.link(r.fqn().String()); ok {
		return l.Status
	}
	return "inactive"
}

func (s *Server) ruleLocked(id string) (*Rule, error) {
	r := s.st.rules[id]
	if r == nil {
		if err := s.st.conflictIfOther(id, colRules); err != nil {
			return nil, err
		}
		return nil, newError(http.StatusNotFound, "")
	}
	return r, nil
}

func (s *Server) getRule(q *apiRequest, res resource) {
	if err := s.entitle(q.caller, rightRead, res); err != nil {
		q.fail(err)
		return
	}
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	r, err := s.ruleLocked(res.ns + "/" + res.name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(r.withStatus(s.ruleStatusLocked(r)))
}

// rulePut is the PUT body of a rule (clients also send name and status,
// which are ignored).
type rulePut struct {
	Trigger     *string `json:"trigger"`
	Action      *string `json:"action"`
	Version     *string `json:"version"`
	Publish     *bool   `json:"publish"`
	Annotations *Params `json:"annotations"`
}

func (s *Server) putRule(q *apiRequest, res resource) {
	if err := s.entitle(q.caller, rightPut, res); err != nil {
		q.fail(err)
		return
	}
	overwrite, err := boolParam(q.r, "overwrite", false)
	if err != nil {
		q.fail(err)
		return
	}
	var body rulePut
	if err := decodeBody(q, &body); err != nil {
		q.fail(err)
		return
	}
	if err := sizeChecks(nil, nil, body.Annotations); err != nil {
		q.fail(err)
		return
	}
	if err := validVersion(body.Version); err != nil {
		q.fail(err)
		return
	}
	var trigger, action *FQN
	if body.Trigger != nil {
		f, err := parseFQN(*body.Trigger, res.ns)
		if err != nil {
			q.fail(err)
			return
		}
		trigger = &f
	}
	if body.Action != nil {
		f, err := parseFQN(*body.Action, res.ns)
		if err != nil {
			q.fail(err)
			return
		}
		action = &f
	}
	// READ on the referenced trigger and action
	if trigger != nil {
		if trigger.Package != "" {
			q.fail(malformed("%s", msgMalformedFQN))
			return
		}
		if err := s.entitle(q.caller, rightRead, resource{collection: colTriggers, ns: trigger.Namespace, name: trigger.Name}); err != nil {
			q.fail(err)
			return
		}
	}
	if action != nil {
		if err := s.entitle(q.caller, rightRead, actionResource(*action)); err != nil {
			q.fail(err)
			return
		}
	}

	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	id := res.ns + "/" + res.name
	if err := s.st.conflictIfOther(id, colRules); err != nil {
		q.fail(err)
		return
	}
	old := s.st.rules[id]
	if old != nil && !overwrite {
		q.fail(newError(http.StatusConflict, msgExists))
		return
	}
	if old == nil && (trigger == nil || action == nil) {
		q.fail(newError(http.StatusBadRequest, msgRuleNeedsBoth))
		return
	}
	var r Rule
	status := "active"
	var oldTrigger *Trigger
	if old != nil {
		r = *old
		oldTrigger = s.st.triggers[fqnFromPathName(old.Trigger).String()]
		status = s.ruleStatusLocked(old)
		if trigger == nil {
			t := fqnFromPathName(old.Trigger)
			trigger = &t
		}
		if action == nil {
			a := fqnFromPathName(old.Action)
			action = &a
		}
	} else {
		r = Rule{Namespace: res.ns, Name: res.name, Version: initialVersion, Annotations: Params{}}
	}
	newTrigger := s.st.triggers[trigger.String()]
	if newTrigger == nil {
		q.fail(errorf(http.StatusBadRequest, "trigger %s does not exist", trigger.WithSlash()))
		return
	}
	if _, err := s.resolveActionLocked(*action); err != nil {
		q.fail(errorf(http.StatusBadRequest, "action %s does not exist", action.WithSlash()))
		return
	}
	r.Trigger = trigger.pathName()
	r.Action = action.pathName()
	if old != nil {
		if body.Version != nil {
			r.Version = *body.Version
		} else {
			r.Version = upPatch(old.Version)
		}
	} else if body.Version != nil {
		r.Version = *body.Version
	}
	if body.Publish != nil {
		r.Publish = *body.Publish
	}
	if body.Annotations != nil {
		r.Annotations = *body.Annotations
	}
	r.Updated = s.now()
	ctx := q.r.Context()
	ruleID := r.fqn().String()
	if oldTrigger != nil && oldTrigger.fqn() != newTrigger.fqn() {
		if err := s.st.putTrigger(ctx, oldTrigger.withoutLink(ruleID)); err != nil {
			q.fail(err)
			return
		}
	}
	if err := s.st.putTrigger(ctx, newTrigger.withLink(ruleLink{Rule: ruleID, Action: r.Action, Status: status})); err != nil {
		q.fail(err)
		return
	}
	if err := s.st.putRule(ctx, &r); err != nil {
		q.fail(err)
		return
	}
	q.ok(r.withStatus(status))
}

func (s *Server) deleteRule(q *apiRequest, res resource) {
	if err := s.entitle(q.caller, rightDelete, res); err != nil {
		q.fail(err)
		return
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	id := res.ns + "/" + res.name
	r, err := s.ruleLocked(id)
	if err != nil {
		q.fail(err)
		return
	}
	ctx := q.r.Context()
	if t := s.st.triggers[fqnFromPathName(r.Trigger).String()]; t != nil {
		if err := s.st.putTrigger(ctx, t.withoutLink(id)); err != nil {
			q.fail(err)
			return
		}
	}
	if err := s.st.deleteRule(ctx, id); err != nil {
		q.fail(err)
		return
	}
	q.ok(r.withStatus("inactive"))
}

func (s *Server) setRuleStatus(q *apiRequest, res resource) {
	if err := s.entitle(q.caller, rightActivate, res); err != nil {
		q.fail(err)
		return
	}
	var body struct {
		Status *string `json:"status"`
	}
	if err := decodeBody(q, &body); err != nil {
		q.fail(err)
		return
	}
	if body.Status == nil {
		q.fail(malformed("status undefined"))
		return
	}
	want := strings.ToLower(strings.TrimSpace(*body.Status))
	if want != "active" && want != "inactive" {
		q.fail(malformed("status field must be one of [active, inactive]"))
		return
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	id := res.ns + "/" + res.name
	r, err := s.ruleLocked(id)
	if err != nil {
		q.fail(err)
		return
	}
	t := s.st.triggers[fqnFromPathName(r.Trigger).String()]
	if t == nil {
		q.fail(newError(http.StatusNotFound, msgRuleNeedsTrigger))
		return
	}
	if s.ruleStatusLocked(r) != want {
		if err := s.st.putTrigger(q.r.Context(), t.withLink(ruleLink{Rule: id, Action: r.Action, Status: want})); err != nil {
			q.fail(err)
			return
		}
	}
	q.w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	q.w.WriteHeader(http.StatusOK)
	_, _ = q.w.Write([]byte("OK"))
}
