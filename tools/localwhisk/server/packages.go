package server

import (
	"encoding/json"
	"fmt"
	"net/http"
)

func (s *Server) routePackages(q *apiRequest) {
	s.routeNamed(q, colPackages, namedRoutes{
		list: s.listPackages,
		get:  s.getPackage, put: s.putPackage, del: s.deletePackage,
	})
}

// listPackages lists a namespace's packages; other namespaces show only
// their published packages, not bindings.
func (s *Server) listPackages(q *apiRequest) {
	own := q.ns == q.caller.Namespace
	visible := func(p *Package) bool { return own || (p.Publish && p.Binding == nil) }
	listNamed(s, q, colPackages, s.st.packages, visible, func(p *Package) any { return p.summary() })
}

func (s *Server) getPackage(q *apiRequest, res resource) {
	if err := s.entitle(q.caller, rightRead, res); err != nil {
		q.fail(err)
		return
	}
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	id := res.ns + "/" + res.name
	p, err := lookupLocked(s.st, s.st.packages, id, colPackages)
	if err != nil {
		q.fail(err)
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
	var body packagePut
	overwrite, err := s.readPut(q, res, &body)
	if err != nil {
		q.fail(err)
		return
	}
	if err := checkPut(nil, body.Parameters, body.Annotations, body.Version); err != nil {
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
	old, err := replaceableLocked(s.st, s.st.packages, res.ns+"/"+res.name, res, overwrite)
	if err != nil {
		q.fail(err)
		return
	}
	if b := body.Binding; b != nil {
		if old != nil && old.Binding == nil {
			q.fail(newError(http.StatusConflict, msgPackageToBinding))
			return
		}
		if err := s.checkBindingLocked(b); err != nil {
			q.fail(err)
			return
		}
	}
	p := Package{Namespace: res.ns, Name: res.name, Parameters: Params{}}
	if old != nil {
		p = *old
	}
	if body.Binding != nil {
		p.Binding = body.Binding
	}
	setIf(&p.Parameters, body.Parameters)
	p.Version = putVersion(body.Version, old != nil, p.Version)
	setIf(&p.Publish, body.Publish)
	setIf(&p.Annotations, body.Annotations)
	p.Annotations = bindingAnnotation(p.Annotations, p.Binding)
	p.Updated = s.now()
	if err := s.st.putPackage(q.r.Context(), &p); err != nil {
		q.fail(err)
		return
	}
	q.ok(p.view(p.Parameters, nil, nil, false))
}

// checkBindingLocked checks the target of a binding write: it must be a
// package that is not itself a binding.
func (s *Server) checkBindingLocked(b *Binding) error {
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
	p, err := deletableLocked(s.st, s.st.packages, id, res)
	if err != nil {
		q.fail(err)
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
