package server

import (
	"net/http"
	"strings"
)

func (s *Server) routeRules(q *apiRequest) {
	s.routeNamed(q, colRules, namedRoutes{
		list: func(q *apiRequest) {
			listNamed(s, q, colRules, s.st.rules, nil, func(r *Rule) any { return r })
		},
		get: s.getRule, put: s.putRule, del: s.deleteRule, post: s.setRuleStatus,
	})
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
	return lookupLocked(s.st, s.st.rules, id, colRules)
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
	var body rulePut
	overwrite, err := s.readPut(q, res, &body)
	if err != nil {
		q.fail(err)
		return
	}
	if err := checkPut(nil, nil, body.Annotations, body.Version); err != nil {
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
	old, err := replaceableLocked(s.st, s.st.rules, res.ns+"/"+res.name, res, overwrite)
	if err != nil {
		q.fail(err)
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
		r = Rule{Namespace: res.ns, Name: res.name, Annotations: Params{}}
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
	r.Version = putVersion(body.Version, old != nil, r.Version)
	setIf(&r.Publish, body.Publish)
	setIf(&r.Annotations, body.Annotations)
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
	r, err := deletableLocked(s.st, s.st.rules, id, res)
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
