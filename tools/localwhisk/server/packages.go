package server

import (
	"encoding/json"
	"fmt"
	"net/http"
)

func (s *Server) routePackages(q *apiRequest) {
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
		if err := s.entitle(q.caller, rightRead, resource{collection: colPackages, ns: q.ns}); err != nil {
			q.fail(err)
			return
		}
		s.listPackages(q)
		return
	}
	res := resource{collection: colPackages, ns: q.ns, name: p.name}
	switch q.r.Method {
	case http.MethodGet:
		s.getPackage(q, res)
	case http.MethodPut:
		s.putPackage(q, res)
	case http.MethodDelete:
		s.deletePackage(q, res)
	default:
		q.fail(methodNotAllowed(http.MethodGet, http.MethodPut, http.MethodDelete))
	}
}

func (s *Server) listPackages(q *apiRequest) {
	skip, limit, count, err := listParams(q.r, colPackages)
	if err != nil {
		q.fail(err)
		return
	}
	own := q.ns == q.caller.Namespace
	s.st.mu.RLock()
	var list []*Package
	for _, p := range s.st.packages {
		if p.Namespace != q.ns {
			continue
		}
		if !own && (!p.Publish || p.Binding != nil) {
			continue
		}
		list = append(list, p)
	}
	s.st.mu.RUnlock()
	sortNewest(list, func(p *Package) int64 { return p.Updated }, func(p *Package) string { return p.Name })
	if count {
		q.ok(map[string]int{colPackages: max(len(list)-skip, 0)})
		return
	}
	from, to := page(len(list), skip, limit)
	out := make([]any, 0, to-from)
	for _, p := range list[from:to] {
		out = append(out, p.summary())
	}
	q.ok(out)
}

func (s *Server) getPackage(q *apiRequest, res resource) {
	if err := s.entitle(q.caller, rightRead, res); err != nil {
		q.fail(err)
		return
	}
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	id := res.ns + "/" + res.name
	p := s.st.packages[id]
	if p == nil {
		if err := s.st.conflictIfOther(id, colPackages); err != nil {
			q.fail(err)
			return
		}
		q.fail(newError(http.StatusNotFound, ""))
		return
	}
	params := p.Parameters
	contents := id
	if p.Binding != nil {
		tid := p.Binding.Namespace + "/" + p.Binding.Name
		if tid == id {
			q.fail(errorf(http.StatusUnprocessableEntity, "Package binding '%s' contains a circular reference.", tid))
			return
		}
		target := s.st.packages[tid]
		if target == nil {
			q.fail(newError(http.StatusNotFound, ""))
			return
		}
		params = target.Parameters.Merge(p.Parameters)
		contents = tid
	}
	var actions, feeds []packageAction
	for _, a := range s.st.actionsIn(contents, false) {
		pa := packageAction{Name: a.Name, Version: a.Version, Annotations: a.Annotations}
		if a.Annotations.Has(annotationFeed) {
			feeds = append(feeds, pa)
		} else {
			actions = append(actions, pa)
		}
	}
	q.ok(p.view(params, actions, feeds, true))
}

// packagePut is the PUT body of a package or binding.
type packagePut struct {
	Binding     *Binding `json:"binding"`
	Parameters  *Params  `json:"parameters"`
	Version     *string  `json:"version"`
	Publish     *bool    `json:"publish"`
	Annotations *Params  `json:"annotations"`
}

func (s *Server) putPackage(q *apiRequest, res resource) {
	if res.name == packageDefault {
		q.fail(errorf(http.StatusBadRequest, "Package name '%s' is reserved.", res.name))
		return
	}
	if err := s.entitle(q.caller, rightPut, res); err != nil {
		q.fail(err)
		return
	}
	overwrite, err := boolParam(q.r, "overwrite", false)
	if err != nil {
		q.fail(err)
		return
	}
	var body packagePut
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
	if b := body.Binding; b != nil {
		if b.Namespace == "_" || b.Namespace == "" {
			b.Namespace = res.ns
		}
		if !validName(b.Namespace) || !validName(b.Name) {
			q.fail(malformed("%s", msgNameIllegal))
			return
		}
		// creating a binding needs READ on its target
		target := resource{collection: colPackages, ns: b.Namespace, name: b.Name}
		if err := s.entitle(q.caller, rightRead, target); err != nil {
			if ae := asAPIError(err); ae.status == http.StatusNotFound {
				err = newError(http.StatusBadRequest, msgBindingMissing)
			} else if ae.status == http.StatusConflict {
				err = newError(http.StatusConflict, msgBindingNotPackage)
			}
			q.fail(err)
			return
		}
	}

	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	id := res.ns + "/" + res.name
	if err := s.st.conflictIfOther(id, colPackages); err != nil {
		q.fail(err)
		return
	}
	checkBinding := func(b *Binding) error {
		tid := b.Namespace + "/" + b.Name
		t := s.st.packages[tid]
		if t == nil {
			if s.st.kindOf(tid) != "" {
				return newError(http.StatusConflict, msgBindingNotPackage)
			}
			return newError(http.StatusBadRequest, msgBindingMissing)
		}
		if t.Binding != nil {
			return newError(http.StatusBadRequest, msgBindingToBinding)
		}
		return nil
	}
	old := s.st.packages[id]
	if old != nil && old.builtin {
		q.fail(res.forbidden())
		return
	}
	var p Package
	switch {
	case old != nil && !overwrite:
		q.fail(newError(http.StatusConflict, msgExists))
		return
	case old != nil:
		if body.Binding != nil {
			if old.Binding == nil {
				q.fail(newError(http.StatusConflict, msgPackageToBinding))
				return
			}
			if err := checkBinding(body.Binding); err != nil {
				q.fail(err)
				return
			}
		}
		p = *old
		if body.Binding != nil {
			p.Binding = body.Binding
		}
		if body.Parameters != nil {
			p.Parameters = *body.Parameters
		}
		if body.Version != nil {
			p.Version = *body.Version
		} else {
			p.Version = upPatch(old.Version)
		}
		if body.Publish != nil {
			p.Publish = *body.Publish
		}
		ann := old.Annotations
		if body.Annotations != nil {
			ann = *body.Annotations
		}
		p.Annotations = bindingAnnotation(ann, p.Binding)
	default:
		if body.Binding != nil {
			if err := checkBinding(body.Binding); err != nil {
				q.fail(err)
				return
			}
		}
		p = Package{Namespace: res.ns, Name: res.name, Version: initialVersion, Binding: body.Binding, Parameters: Params{}}
		if body.Parameters != nil {
			p.Parameters = *body.Parameters
		}
		if body.Version != nil {
			p.Version = *body.Version
		}
		if body.Publish != nil {
			p.Publish = *body.Publish
		}
		var ann Params
		if body.Annotations != nil {
			ann = *body.Annotations
		}
		p.Annotations = bindingAnnotation(ann, p.Binding)
	}
	p.Updated = s.now()
	if err := s.st.putPackage(q.r.Context(), &p); err != nil {
		q.fail(err)
		return
	}
	q.ok(p.view(p.Parameters, nil, nil, false))
}

// bindingAnnotation drops any client-given "binding" annotation and sets
// the controller's own for bindings.
func bindingAnnotation(ann Params, b *Binding) Params {
	out := ann.Delete(annotationBinding)
	if b != nil {
		v, _ := json.Marshal(b)
		out = out.Set(annotationBinding, v, false)
	}
	return out
}

func (s *Server) deletePackage(q *apiRequest, res resource) {
	if err := s.entitle(q.caller, rightDelete, res); err != nil {
		q.fail(err)
		return
	}
	force, err := boolParam(q.r, "force", false)
	if err != nil {
		q.fail(err)
		return
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	id := res.ns + "/" + res.name
	if err := s.st.conflictIfOther(id, colPackages); err != nil {
		q.fail(err)
		return
	}
	p := s.st.packages[id]
	if p == nil {
		q.fail(newError(http.StatusNotFound, ""))
		return
	}
	if p.builtin {
		q.fail(res.forbidden())
		return
	}
	if p.Binding == nil {
		contents := s.st.actionsIn(id, false)
		if len(contents) > 0 && !force {
			noun := "entities"
			if len(contents) == 1 {
				noun = "entity"
			}
			q.fail(newError(http.StatusConflict, fmt.Sprintf("Package not empty (contains %d %s). Set force param or delete package contents.", len(contents), noun)))
			return
		}
		for _, a := range contents {
			aid := a.fqn().String()
			if err := s.st.deleteAction(q.r.Context(), aid); err != nil {
				q.fail(err)
				return
			}
			s.code.forget(aid)
		}
	}
	if err := s.st.deletePackage(q.r.Context(), id); err != nil {
		q.fail(err)
		return
	}
	q.ok(p.view(p.Parameters, nil, nil, false))
}
