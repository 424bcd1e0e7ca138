package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Activation status codes (statusCode in the store, hidden in the API).
const (
	statusSuccess          = 0
	statusApplicationError = 1
	statusDeveloperError   = 2
	statusWhiskError       = 3
)

var statusNames = [...]string{"success", "application error", "action developer error", "whisk internal error"}

// activationResponse is an activation's response in its API form.
type activationResponse struct {
	statusCode int
	Result     json.RawMessage `json:"result"`
	Size       *int            `json:"size,omitempty"`
}

// MarshalJSON writes status and success instead of the internal statusCode.
func (r activationResponse) MarshalJSON() ([]byte, error) {
	res := r.Result
	if len(res) == 0 {
		res = json.RawMessage("{}")
	}
	return json.Marshal(struct {
		Status  string          `json:"status"`
		Success bool            `json:"success"`
		Result  json.RawMessage `json:"result"`
		Size    *int            `json:"size,omitempty"`
	}{statusNames[r.statusCode], r.statusCode == statusSuccess, res, r.Size})
}

// Activation is one activation record (the extended form of the API).
type Activation struct {
	Namespace    string             `json:"namespace"`
	Name         string             `json:"name"`
	Subject      string             `json:"subject"`
	ActivationID string             `json:"activationId"`
	Start        int64              `json:"start"`
	End          int64              `json:"end,omitempty"`
	Duration     *int64             `json:"duration,omitempty"`
	Cause        string             `json:"cause,omitempty"`
	Response     activationResponse `json:"response"`
	Logs         []string           `json:"logs"`
	Version      string             `json:"version"`
	Publish      bool               `json:"publish"`
	Annotations  Params             `json:"annotations"`

	// filterName is what the name filter matches: "name" or "pkg/name".
	filterName string
}

func (a *Activation) summary() any {
	type row struct {
		Namespace    string `json:"namespace"`
		Name         string `json:"name"`
		Version      string `json:"version"`
		Publish      bool   `json:"publish"`
		Annotations  Params `json:"annotations"`
		ActivationID string `json:"activationId"`
		Start        int64  `json:"start"`
		End          int64  `json:"end,omitempty"`
		Duration     *int64 `json:"duration,omitempty"`
		Cause        string `json:"cause,omitempty"`
		StatusCode   *int   `json:"statusCode,omitempty"`
	}
	rw := row{a.Namespace, a.Name, a.Version, a.Publish, a.Annotations, a.ActivationID, a.Start, a.End, a.Duration, a.Cause, nil}
	if a.End != 0 {
		sc := a.Response.statusCode
		rw.StatusCode = &sc
	}
	return rw
}

// activationRing keeps the newest max activations.
type activationRing struct {
	mu   sync.RWMutex
	max  int
	ring []*Activation // ring[next] is the oldest once full
	next int
	byID map[string]*Activation
}

func newActivationRing(max int) *activationRing {
	return &activationRing{max: max, byID: map[string]*Activation{}}
}

func (ar *activationRing) add(a *Activation) {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	if len(ar.ring) < ar.max {
		ar.ring = append(ar.ring, a)
	} else {
		delete(ar.byID, ar.ring[ar.next].ActivationID)
		ar.ring[ar.next] = a
		ar.next = (ar.next + 1) % ar.max
	}
	ar.byID[a.ActivationID] = a
}

func (ar *activationRing) get(id string) *Activation {
	ar.mu.RLock()
	defer ar.mu.RUnlock()
	return ar.byID[id]
}

// newest returns the activations matching keep, newest start first.
func (ar *activationRing) newest(keep func(*Activation) bool) []*Activation {
	ar.mu.RLock()
	defer ar.mu.RUnlock()
	var out []*Activation
	for _, a := range ar.ring {
		if keep(a) {
			out = append(out, a)
		}
	}
	// records are added when they finish; order by start like the store
	sortNewest(out, func(a *Activation) int64 { return a.Start }, func(a *Activation) string { return a.ActivationID })
	return out
}

func (s *Server) routeActivations(q *apiRequest) {
	if q.r.Method != http.MethodGet {
		q.fail(methodNotAllowed(http.MethodGet))
		return
	}
	res := resource{collection: colActivations, ns: q.ns}
	rest := q.rest
	if len(rest) == 0 || (len(rest) == 1 && rest[0] == "") {
		if err := s.entitle(q.caller, rightRead, res); err != nil {
			q.fail(err)
			return
		}
		s.listActivations(q)
		return
	}
	id := rest[0]
	if !validActivationID(id) {
		msg := msgActivationIDIllegal
		if len(id) != activationIDLength {
			msg = "Activation id length is " + strconv.Itoa(len(id)) + " but must be 32."
		}
		q.fail(newError(http.StatusBadRequest, msg))
		return
	}
	res.name = id
	if err := s.entitle(q.caller, rightRead, res); err != nil {
		q.fail(err)
		return
	}
	a := s.activations.get(strings.ToLower(id))
	if a == nil || a.Namespace != q.ns {
		q.fail(newError(http.StatusNotFound, ""))
		return
	}
	switch {
	case len(rest) == 1 || (len(rest) == 2 && rest[1] == ""):
		q.ok(a)
	case len(rest) == 2 && rest[1] == "result":
		q.ok(a.Response)
	case len(rest) == 2 && rest[1] == "logs":
		logs := a.Logs
		if logs == nil {
			logs = []string{}
		}
		q.ok(map[string][]string{"logs": logs})
	default:
		q.fail(newError(http.StatusNotFound, msgRouteNotFound))
	}
}

func (s *Server) listActivations(q *apiRequest) {
	lq, err := parseListQuery(q.r, colActivations)
	if err != nil {
		q.fail(err)
		return
	}
	docs, err := boolParam(q.r, "docs", false)
	if err != nil {
		q.fail(err)
		return
	}
	if lq.count && docs {
		q.fail(newError(http.StatusBadRequest, msgDocsWithCount))
		return
	}
	qv := q.r.URL.Query()
	name := strings.TrimSpace(qv.Get("name"))
	if name != "" {
		parts := strings.Split(strings.Trim(name, "/"), "/")
		okName := len(parts) <= 2
		for _, p := range parts {
			okName = okName && validName(p)
		}
		if !okName {
			q.fail(malformedQuery("name", "Parameter may be a 'simple' name or 'package-name/simple' name: "+name))
			return
		}
		name = strings.Join(parts, "/")
	}
	epoch := func(key string) (int64, bool, error) {
		v := qv.Get(key)
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false, malformedQuery(key, "Parameter is not a valid value for epoch seconds: "+v)
		}
		return n, true, nil
	}
	since, hasSince, err := epoch("since")
	if err != nil {
		q.fail(err)
		return
	}
	upto, hasUpto, err := epoch("upto")
	if err != nil {
		q.fail(err)
		return
	}
	list := s.activations.newest(func(a *Activation) bool {
		if a.Namespace != q.ns {
			return false
		}
		if name != "" && a.filterName != name {
			return false
		}
		if hasSince && a.Start < since {
			return false
		}
		if hasUpto && a.Start > upto {
			return false
		}
		return true
	})
	answerList(q, lq, list, func(a *Activation) any {
		if docs {
			return a
		}
		return a.summary()
	})
}
