package server

import (
	"context"
	"net/http"
)

// entity is the pointer to a stored entity (*Action, *Package, *Trigger,
// *Rule): what the collection handlers and the state need of every kind.
type entity[T any] interface {
	*T
	fqn() FQN
	updatedAt() int64
	isBuiltin() bool
}

// namedRoutes are the handlers of a collection of named entities; post is
// nil where the collection has no POST on a name.
type namedRoutes struct {
	list                func(*apiRequest)
	get, put, del, post func(*apiRequest, resource)
}

// routeNamed serves /namespaces/{ns}/{collection}[/{name}] for packages,
// triggers and rules.
func (s *Server) routeNamed(q *apiRequest, collection string, h namedRoutes) {
	p, err := q.path(false)
	if err != nil {
		q.fail(err)
		return
	}
	if p.collection {
		s.serveList(q, collection, h.list)
		return
	}
	res := resource{collection: collection, ns: q.ns, name: p.name}
	switch {
	case q.r.Method == http.MethodGet:
		h.get(q, res)
	case q.r.Method == http.MethodPut:
		h.put(q, res)
	case q.r.Method == http.MethodDelete:
		h.del(q, res)
	case q.r.Method == http.MethodPost && h.post != nil:
		h.post(q, res)
	case h.post != nil:
		q.fail(methodNotAllowed(http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost))
	default:
		q.fail(methodNotAllowed(http.MethodGet, http.MethodPut, http.MethodDelete))
	}
}

// serveList answers GET on a collection (READ on the namespace) with list.
func (s *Server) serveList(q *apiRequest, collection string, list func(*apiRequest)) {
	if q.r.Method != http.MethodGet {
		q.fail(methodNotAllowed(http.MethodGet))
		return
	}
	if err := s.entitle(q.caller, rightRead, resource{collection: collection, ns: q.ns}); err != nil {
		q.fail(err)
		return
	}
	list(q)
}

// listNamed answers a list of the entities of all in the request's
// namespace that keep accepts (nil: all), newest first, one row each.
func listNamed[T any, E entity[T]](s *Server, q *apiRequest, collection string, all map[string]E, keep func(E) bool, row func(E) any) {
	lq, err := parseListQuery(q.r, collection)
	if err != nil {
		q.fail(err)
		return
	}
	s.st.mu.RLock()
	var list []E
	for _, e := range all {
		if e.fqn().Namespace == q.ns && (keep == nil || keep(e)) {
			list = append(list, e)
		}
	}
	s.st.mu.RUnlock()
	sortNewest(list, func(e E) int64 { return e.updatedAt() }, func(e E) string { return e.fqn().Name })
	answerList(q, lq, list, row)
}

// lookupLocked returns all[id]; 409 when id names an entity of another
// collection, else 404.
func lookupLocked[T any, E entity[T]](st *state, all map[string]E, id, collection string) (E, error) {
	e := all[id]
	if e == nil {
		if err := st.conflictIfOther(id, collection); err != nil {
			return nil, err
		}
		return nil, newError(http.StatusNotFound, "")
	}
	return e, nil
}

// deletableLocked is lookupLocked that also refuses (403) a built-in entity.
func deletableLocked[T any, E entity[T]](st *state, all map[string]E, id string, res resource) (E, error) {
	e, err := lookupLocked(st, all, id, res.collection)
	if err != nil {
		return nil, err
	}
	if e.isBuiltin() {
		return nil, res.forbidden()
	}
	return e, nil
}

// replaceableLocked applies PUT's rules to the entity at id: 409 when id
// names another kind, 403 for a built-in, 409 when it exists and overwrite
// is false. It returns the existing entity, or nil for a create.
func replaceableLocked[T any, E entity[T]](st *state, all map[string]E, id string, res resource, overwrite bool) (E, error) {
	if err := st.conflictIfOther(id, res.collection); err != nil {
		return nil, err
	}
	old := all[id]
	if old == nil {
		return nil, nil
	}
	if old.isBuiltin() {
		return nil, res.forbidden()
	}
	if !overwrite {
		return nil, newError(http.StatusConflict, msgExists)
	}
	return old, nil
}

// readPut authorises a PUT on res, reads its overwrite flag and decodes
// the JSON body into body.
func (s *Server) readPut(q *apiRequest, res resource, body any) (overwrite bool, err error) {
	if err := s.entitle(q.caller, rightPut, res); err != nil {
		return false, err
	}
	if overwrite, err = boolParam(q.r, "overwrite", false); err != nil {
		return false, err
	}
	if err := decodeBody(q, body); err != nil {
		return false, err
	}
	return overwrite, nil
}

// checkPut answers 413 for exec, parameters or annotations over the
// limits and 400 for a version that is not major.minor.patch.
func checkPut(exec *Exec, params, annotations *Params, version *string) error {
	if err := sizeChecks(exec, params, annotations); err != nil {
		return err
	}
	return validVersion(version)
}

// putVersion is the version a PUT stores: the given one, else the next
// patch of the current one on an update, else the initial version.
func putVersion(given *string, update bool, current string) string {
	switch {
	case given != nil:
		return *given
	case update:
		return upPatch(current)
	}
	return initialVersion
}

// setIf overwrites *dst with *v when v is given.
func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// putDoc stores e in all under its fully qualified name and persists it
// unless it is built in.
func putDoc[T any, E entity[T]](ctx context.Context, st *state, all map[string]E, collection string, e E) error {
	id := e.fqn().String()
	all[id] = e
	if e.isBuiltin() {
		return nil
	}
	return st.persist(ctx, collection, id, e)
}

// deleteDoc removes id from all and from the disk.
func deleteDoc[E any](ctx context.Context, st *state, all map[string]E, collection, id string) error {
	delete(all, id)
	return st.persist(ctx, collection, id, nil)
}
