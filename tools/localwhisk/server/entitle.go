package server

import (
	"net/http"
)

// right is a privilege in the controller's entitlement model.
type right int

const (
	rightRead right = iota
	rightPut
	rightDelete
	rightActivate
)

// resource is what a request touches: a collection in a namespace path
// ("ns" or "ns/pkg" for actions in a package), optionally one entity.
type resource struct {
	collection string
	ns         string
	pkg        string
	name       string
}

func (r resource) fqname() string {
	s := r.ns
	if r.pkg != "" {
		s += "/" + r.pkg
	}
	if r.name != "" {
		s += "/" + r.name
	}
	return s
}

func (r resource) forbidden() error {
	return newError(http.StatusForbidden, msgForbiddenOn(r.fqname()))
}

// entitle checks caller's implicit rights on res: full rights in its own
// namespace, READ and ACTIVATE through other namespaces' published
// packages. Activations are throttled first, as upstream does.
func (s *Server) entitle(caller Identity, rt right, res resource) error {
	if rt == rightActivate {
		switch res.collection {
		case colActions:
			if err := s.throttle.invoke(caller.Namespace); err != nil {
				return err
			}
		case colTriggers:
			if err := s.throttle.fire(caller.Namespace); err != nil {
				return err
			}
		}
	}
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	return s.entitleLocked(caller, rt, res)
}

func (s *Server) entitleLocked(caller Identity, rt right, res resource) error {
	owner := res.ns == caller.Namespace
	switch res.collection {
	case colActions:
		if res.name == "" {
			if owner && rt == rightRead {
				return nil
			}
			return res.forbidden()
		}
		if res.pkg != "" && (rt == rightRead || rt == rightActivate) {
			pkgRes := resource{collection: colPackages, ns: res.ns, name: res.pkg}
			return s.entitleLocked(caller, rightRead, pkgRes)
		}
		if owner {
			return nil
		}
		return res.forbidden()
	case colPackages:
		if res.name == "" {
			if rt == rightRead {
				return nil // filtered by the list handler
			}
			return res.forbidden()
		}
		if rt == rightRead {
			ok, err := s.packageReadableLocked(caller, owner, res.ns+"/"+res.name)
			if err != nil {
				return err
			}
			if !ok {
				return res.forbidden()
			}
			return nil
		}
		if owner && (rt == rightPut || rt == rightDelete) {
			return nil
		}
		return res.forbidden()
	case colActivations, colLimits:
		if owner && rt == rightRead {
			return nil
		}
		return res.forbidden()
	default: // triggers, rules
		if owner && (res.name != "" || rt == rightRead) {
			return nil
		}
		return res.forbidden()
	}
}

// packageReadableLocked decides READ on a package or binding: packages when
// owned or published; bindings only when owned and their target is readable.
// A missing package is 404 for its owner and simply unreadable otherwise.
func (s *Server) packageReadableLocked(caller Identity, owner bool, docid string) (bool, error) {
	for hops := 0; hops < 8; hops++ {
		p := s.st.packages[docid]
		if p == nil {
			if !owner {
				return false, nil
			}
			if s.st.kindOf(docid) != "" {
				return false, newError(http.StatusConflict, msgConformance)
			}
			return false, newError(http.StatusNotFound, "")
		}
		if p.Binding == nil {
			return p.Publish || owner, nil
		}
		if !owner {
			return false, nil
		}
		target := p.Binding.Namespace + "/" + p.Binding.Name
		if target == docid {
			return false, errorf(http.StatusUnprocessableEntity, "Package binding '%s' contains a circular reference.", target)
		}
		owner = p.Binding.Namespace == caller.Namespace
		docid = target
	}
	return false, newError(http.StatusUnprocessableEntity, "")
}
