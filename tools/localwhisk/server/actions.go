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
		if q.r.Method != http.MethodGet {
			q.fail(methodNotAllowed(http.MethodGet))
			return
		}
		if err := s.entitle(q.caller, rightRead, resource{collection: colActions, ns: q.ns}); err != nil {
			q.fail(err)
			return
		}
		s.listActions(q, q.ns, true)
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
	skip, limit, count, err := listParams(q.r, colActions)
	if err != nil {
		q.fail(err)
		return
	}
	s.st.mu.RLock()
	list := s.st.actionsIn(path, wholeNamespace)
	s.st.mu.RUnlock()
	if count {
		q.ok(map[string]int{colActions: max(len(list)-skip, 0)})
		return
	}
	from, to := page(len(list), skip, limit)
	out := make([]any, 0, to-from)
	for _, a := range list[from:to] {
		out = append(out, a.summary())
	}
	q.ok(out)
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
	if l.Timeout != nil {
		t := *l.Timeout
		if t < minActionTimeoutMS {
			return base, malformed("duration %d milliseconds below allowed threshold of %d milliseconds", t, minActionTimeoutMS)
		}
		if t > maxActionTimeoutMS {
			return base, malformed("duration %d milliseconds exceeds allowed threshold of %d milliseconds", t, maxActionTimeoutMS)
		}
		out.Timeout = t
	}
	if l.Memory != nil {
		m := *l.Memory
		if m < minActionMemoryMB {
			return base, malformed("memory size %d MB below allowed threshold of %d MB", m, minActionMemoryMB)
		}
		if m > maxActionMemoryMB {
			return base, malformed("memory size %d MB exceeds allowed threshold of %d MB", m, maxActionMemoryMB)
		}
		out.Memory = m
	}
	if l.Logs != nil {
		g := *l.Logs
		if g < minActionLogsMB {
			return base, malformed("log size %d MB below allowed threshold of %d MB", g, minActionLogsMB)
		}
		if g > maxActionLogsMB {
			return base, malformed("log size %d MB exceeds allowed threshold of %d MB", g, maxActionLogsMB)
		}
		out.Logs = g
	}
	if l.Concurrency != nil {
		c := *l.Concurrency
		if c < minActionConcurrency {
			return base, malformed("concurrency %d below allowed threshold of %d", c, minActionConcurrency)
		}
		if c > maxActionConcurrency {
			return base, malformed("concurrency %d exceeds allowed threshold of %d", c, maxActionConcurrency)
		}
		out.Concurrency = c
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
	if err := s.entitle(q.caller, rightPut, res); err != nil {
		q.fail(err)
		return
	}
	overwrite, err := boolParam(q.r, "overwrite", false)
	if err != nil {
		q.fail(err)
		return
	}
	var body actionPut
	if err := decodeBody(q, &body); err != nil {
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
	if err := sizeChecks(exec, body.Parameters, body.Annotations); err != nil {
		q.fail(err)
		return
	}
	if err := validVersion(body.Version); err != nil {
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
	if err := s.st.conflictIfOther(id, colActions); err != nil {
		q.fail(err)
		return
	}
	old := s.st.actions[id]
	if old != nil && old.builtin != nil {
		q.fail(res.forbidden())
		return
	}
	var a Action
	switch {
	case old != nil && !overwrite:
		q.fail(newError(http.StatusConflict, msgExists))
		return
	case old != nil:
		a = *old
		if exec != nil {
			a.Exec = *exec
		}
		if body.Parameters != nil {
			a.Parameters = *body.Parameters
		}
		if a.Limits, err = body.Limits.apply(old.Limits); err != nil {
			q.fail(err)
			return
		}
		if body.Version != nil {
			a.Version = *body.Version
		} else {
			a.Version = upPatch(old.Version)
		}
		if body.Publish != nil {
			a.Publish = *body.Publish
		}
		ann := old.Annotations
		for _, k := range body.DelAnnotations {
			ann = ann.Delete(k)
		}
		if body.Annotations != nil {
			ann = ann.Merge(*body.Annotations)
		}
		a.Annotations = ann.SetAny(annotationExec, a.Exec.Kind)
	default:
		if exec == nil {
			q.fail(newError(http.StatusBadRequest, "exec undefined"))
			return
		}
		a = Action{
			Namespace: fqn.Path(), Name: fqn.Name, Version: initialVersion, Exec: *exec,
			Limits: limits, Parameters: Params{}, Annotations: Params{},
		}
		if body.Parameters != nil {
			a.Parameters = *body.Parameters
		}
		if body.Version != nil {
			a.Version = *body.Version
		}
		if body.Publish != nil {
			a.Publish = *body.Publish
		}
		if body.Annotations != nil {
			a.Annotations = *body.Annotations
		}
		if !a.Annotations.Has(annotationProvideAPIKey) {
			a.Annotations = a.Annotations.SetAny(annotationProvideAPIKey, false)
		}
		a.Annotations = a.Annotations.SetAny(annotationExec, a.Exec.Kind)
	}
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
	if err := s.st.conflictIfOther(id, colActions); err != nil {
		q.fail(err)
		return
	}
	a := s.st.actions[id]
	if a == nil {
		q.fail(newError(http.StatusNotFound, ""))
		return
	}
	if a.builtin != nil {
		q.fail(res.forbidden())
		return
	}
	if err := s.st.deleteAction(q.r.Context(), id); err != nil {
		q.fail(err)
		return
	}
	s.code.forget(id)
	q.ok(a)
}
