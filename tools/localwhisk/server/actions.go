package server

import (
	"encoding/json"
	"fmt"
	"net/http"
)

func (s *Server) routeActions(q *apiRequest) {
	p, err := q.path(true)
	if err != nil {
		q.fail(err)
		return
	}
	switch {
	case p.collection:
		s.serveList(q, colActions, func(q *apiRequest) { s.listActions(q, q.ns, true) })
	case p.pkgList:
		if q.r.Method != http.MethodGet {
			q.fail(newError(http.StatusNotFound, msgRouteNotFound))
			return
		}
		if err := s.entitle(q.caller, rightRead, resource{collection: colPackages, ns: q.ns, name: p.pkg}); err != nil {
			q.fail(err)
			return
		}
		s.st.mu.RLock()
		pkg := s.st.packages[q.ns+"/"+p.pkg]
		s.st.mu.RUnlock()
		if pkg == nil {
			q.fail(newError(http.StatusNotFound, ""))
			return
		}
		path := pkg.Namespace + "/" + pkg.Name
		if pkg.Binding != nil {
			path = pkg.Binding.Namespace + "/" + pkg.Binding.Name
		}
		s.listActions(q, path, false)
	default:
		fqn := FQN{Namespace: q.ns, Package: p.pkg, Name: p.name}
		res := resource{collection: colActions, ns: q.ns, pkg: p.pkg, name: p.name}
		switch q.r.Method {
		case http.MethodGet:
			s.getAction(q, fqn, res)
		case http.MethodPut:
			s.putAction(q, fqn, res)
		case http.MethodDelete:
			s.deleteAction(q, fqn, res)
		case http.MethodPost:
			s.invokeActionAPI(q, fqn, res)
		default:
			q.fail(methodNotAllowed(http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost))
		}
	}
}

func (s *Server) listActions(q *apiRequest, path string, wholeNamespace bool) {
	lq, err := parseListQuery(q.r, colActions)
	if err != nil {
		q.fail(err)
		return
	}
	s.st.mu.RLock()
	list := s.st.actionsIn(path, wholeNamespace)
	s.st.mu.RUnlock()
	answerList(q, lq, list, func(a *Action) any { return a.summary() })
}

// packageOfLocked checks the package of an action write: it must exist and
// not be a binding.
func (s *Server) packageOfLocked(fqn FQN) error {
	if fqn.Package == "" {
		return nil
	}
	id := fqn.Namespace + "/" + fqn.Package
	p := s.st.packages[id]
	if p == nil {
		if s.st.kindOf(id) != "" {
			return newError(http.StatusConflict, msgConformance)
		}
		return newError(http.StatusNotFound, "")
	}
	if p.Binding != nil {
		return newError(http.StatusBadRequest, msgNotAllowedOnBinding)
	}
	return nil
}

func (s *Server) getAction(q *apiRequest, fqn FQN, res resource) {
	if err := s.entitle(q.caller, rightRead, res); err != nil {
		q.fail(err)
		return
	}
	code, err := boolParam(q.r, "code", true)
	if err != nil {
		q.fail(err)
		return
	}
	ra, err := s.resolveAction(fqn)
	if err != nil {
		q.fail(err)
		return
	}
	merged := *ra.action
	merged.Parameters = ra.params
	if code {
		q.ok(&merged)
		return
	}
	q.ok(merged.metadata())
}

// actionPut is the PUT body of an action; absent fields keep old values.
type actionPut struct {
	Exec           json.RawMessage `json:"exec"`
	Parameters     *Params         `json:"parameters"`
	Limits         *limitsPut      `json:"limits"`
	Version        *string         `json:"version"`
	Publish        *bool           `json:"publish"`
	Annotations    *Params         `json:"annotations"`
	DelAnnotations []string        `json:"delAnnotations"`
}

type limitsPut struct {
	Timeout     *int `json:"timeout"`
	Memory      *int `json:"memory"`
	Logs        *int `json:"logs"`
	Concurrency *int `json:"concurrency"`
}

// apply validates l and overlays it on base.
func (l *limitsPut) apply(base ActionLimits) (ActionLimits, error) {
	if l == nil {
		return base, nil
	}
	out := base
	for _, c := range []struct {
		given    *int
		dst      *int
		min, max int
		what     string
		unit     string
	}{
		{l.Timeout, &out.Timeout, minActionTimeoutMS, maxActionTimeoutMS, "duration", " milliseconds"},
		{l.Memory, &out.Memory, minActionMemoryMB, maxActionMemoryMB, "memory size", " MB"},
		{l.Logs, &out.Logs, minActionLogsMB, maxActionLogsMB, "log size", " MB"},
		{l.Concurrency, &out.Concurrency, minActionConcurrency, maxActionConcurrency, "concurrency", ""},
	} {
		if c.given == nil {
			continue
		}
		v := *c.given
		if v < c.min {
			return base, malformed("%s %d%s below allowed threshold of %d%s", c.what, v, c.unit, c.min, c.unit)
		}
		if v > c.max {
			return base, malformed("%s %d%s exceeds allowed threshold of %d%s", c.what, v, c.unit, c.max, c.unit)
		}
		*c.dst = v
	}
	return out, nil
}

// decodeBody reads a JSON object body into v; an empty body is an empty object.
func decodeBody(q *apiRequest, v any) error {
	b, err := readBody(q.r, requestEntityMax, "Request")
	if err != nil {
		return err
	}
	if len(b) == 0 {
		b = []byte("{}")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return malformed("%s", jsonErrorText(err))
	}
	return nil
}

func jsonErrorText(err error) string {
	if ute, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Sprintf("field '%s' has the wrong type: expected %s", ute.Field, ute.Type)
	}
	return err.Error()
}

// sizeChecks answers 413 for exec, parameters or annotations over the limits.
func sizeChecks(exec *Exec, params, annotations *Params) error {
	if exec != nil && exec.size() > execSizeMax {
		return newError(http.StatusRequestEntityTooLarge, msgTooLarge("exec", exec.size(), execSizeMax))
	}
	if params != nil && params.size() > parameterSizeMax {
		return newError(http.StatusRequestEntityTooLarge, msgTooLarge("parameters", params.size(), parameterSizeMax))
	}
	if annotations != nil && annotations.size() > parameterSizeMax {
		return newError(http.StatusRequestEntityTooLarge, msgTooLarge("annotations", annotations.size(), parameterSizeMax))
	}
	return nil
}

func validVersion(v *string) error {
	if v == nil {
		return nil
	}
	if _, err := parseVersion(*v); err != nil {
		return malformed("%s", err.Error())
	}
	return nil
}

func (s *Server) putAction(q *apiRequest, fqn FQN, res resource) {
	var body actionPut
	overwrite, err := s.readPut(q, res, &body)
	if err != nil {
		q.fail(err)
		return
	}
	var exec *Exec
	if len(body.Exec) > 0 && string(body.Exec) != "null" {
		e, err := parseExec(body.Exec)
		if err != nil {
			q.fail(err)
			return
		}
		exec = &e
	}
	if err := checkPut(exec, body.Parameters, body.Annotations, body.Version); err != nil {
		q.fail(err)
		return
	}
	limits, err := body.Limits.apply(defaultActionLimits())
	if err != nil {
		q.fail(err)
		return
	}

	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if err := s.packageOfLocked(fqn); err != nil {
		q.fail(err)
		return
	}
	id := fqn.String()
	old, err := replaceableLocked(s.st, s.st.actions, id, res, overwrite)
	if err != nil {
		q.fail(err)
		return
	}
	var a Action
	if old != nil {
		a = *old
		setIf(&a.Exec, exec)
		if a.Limits, err = body.Limits.apply(old.Limits); err != nil {
			q.fail(err)
			return
		}
		ann := old.Annotations
		for _, k := range body.DelAnnotations {
			ann = ann.Delete(k)
		}
		if body.Annotations != nil {
			ann = ann.Merge(*body.Annotations)
		}
		a.Annotations = ann
	} else {
		if exec == nil {
			q.fail(newError(http.StatusBadRequest, "exec undefined"))
			return
		}
		a = Action{
			Namespace: fqn.Path(), Name: fqn.Name, Exec: *exec,
			Limits: limits, Parameters: Params{}, Annotations: Params{},
		}
		setIf(&a.Annotations, body.Annotations)
		if !a.Annotations.Has(annotationProvideAPIKey) {
			a.Annotations = a.Annotations.SetAny(annotationProvideAPIKey, false)
		}
	}
	setIf(&a.Parameters, body.Parameters)
	a.Version = putVersion(body.Version, old != nil, a.Version)
	setIf(&a.Publish, body.Publish)
	a.Annotations = a.Annotations.SetAny(annotationExec, a.Exec.Kind)
	a.Updated = s.now()
	if err := s.st.putAction(q.r.Context(), &a); err != nil {
		q.fail(err)
		return
	}
	s.code.forget(id)
	q.ok(&a)
}

func (s *Server) deleteAction(q *apiRequest, fqn FQN, res resource) {
	if err := s.entitle(q.caller, rightDelete, res); err != nil {
		q.fail(err)
		return
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if err := s.packageOfLocked(fqn); err != nil {
		q.fail(err)
		return
	}
	id := fqn.String()
	a, err := deletableLocked(s.st, s.st.actions, id, res)
	if err != nil {
		q.fail(err)
		return
	}
	if err := s.st.deleteAction(q.r.Context(), id); err != nil {
		q.fail(err)
		return
	}
	s.code.forget(id)
	q.ok(a)
}
