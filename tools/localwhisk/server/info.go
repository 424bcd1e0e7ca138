package server

import (
	"net/http"
)

// serveInfo answers GET / with the platform description wskdeploy reads.
func (s *Server) serveInfo(w http.ResponseWriter, r *http.Request) {
	limits := map[string]any{
		"sequence_length":     0,
		"min_action_duration": minActionTimeoutMS,
		"max_action_duration": maxActionTimeoutMS,
		"min_action_memory":   minActionMemoryMB << 20,
		"max_action_memory":   maxActionMemoryMB << 20,
		"min_action_logs":     minActionLogsMB << 20,
		"max_action_logs":     maxActionLogsMB << 20,
	}
	if n := s.cfg.Limits.InvocationsPerMinute; n > 0 {
		limits["actions_per_minute"] = n
	}
	if n := s.cfg.Limits.FiresPerMinute; n > 0 {
		limits["triggers_per_minute"] = n
	}
	if n := s.cfg.Limits.ConcurrentInvocations; n > 0 {
		limits["concurrent_actions"] = n
	}
	setCORS(w.Header())
	writeJSON(w, http.StatusOK, map[string]any{
		"description": "OpenWhisk",
		"support": map[string]string{
			"github": "https://github.com/apache/openwhisk/issues",
			"slack":  "http://slack.openwhisk.org",
		},
		"api_paths": []string{"/api/v1"},
		"limits":    limits,
		"runtimes":  map[string][]runtime{"go": goRuntimes},
	})
}

// serveAPIInfo answers GET /api/v1.
func (s *Server) serveAPIInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"description":      "OpenWhisk API",
		"api_version":      "1.0.0",
		"api_version_path": "v1",
		"build":            "localwhisk",
		"buildno":          "localwhisk",
		"swagger_paths":    map[string]string{"ui": "/api/v1/docs", "api-docs": "/api/v1/api-docs"},
	})
}

// serveLimits answers GET /namespaces/{ns}/limits.
func (s *Server) serveLimits(q *apiRequest) {
	if len(q.rest) > 1 || (len(q.rest) == 1 && q.rest[0] != "") {
		q.fail(newError(http.StatusNotFound, msgRouteNotFound))
		return
	}
	if q.r.Method != http.MethodGet {
		q.fail(methodNotAllowed(http.MethodGet))
		return
	}
	if err := s.entitle(q.caller, rightRead, resource{collection: colLimits, ns: q.ns}); err != nil {
		q.fail(err)
		return
	}
	l := s.throttle.limits(q.ns)
	out := map[string]any{
		"minActionMemory":      minActionMemoryMB,
		"maxActionMemory":      maxActionMemoryMB,
		"minActionLogs":        minActionLogsMB,
		"maxActionLogs":        maxActionLogsMB,
		"minActionTimeout":     minActionTimeoutMS,
		"maxActionTimeout":     maxActionTimeoutMS,
		"minActionConcurrency": minActionConcurrency,
		"maxActionConcurrency": maxActionConcurrency,
		"maxParameterSize":     "1 MB",
	}
	if l.InvocationsPerMinute > 0 {
		out["invocationsPerMinute"] = l.InvocationsPerMinute
	}
	if l.ConcurrentInvocations > 0 {
		out["concurrentInvocations"] = l.ConcurrentInvocations
		out["maxActionInstances"] = l.ConcurrentInvocations
	}
	if l.FiresPerMinute > 0 {
		out["firesPerMinute"] = l.FiresPerMinute
	}
	q.ok(out)
}
