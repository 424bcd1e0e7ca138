package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/runner"
)

// BuiltinHandler implements a built-in action in Go, in process. params
// are the effective arguments (package < binding < action < invocation
// payload, like any action); caller is the identity the activation runs as
// (the invoker; for rule-fired activations the trigger owner; for web
// actions the action's owner). ctx ends at the action's time limit or when
// the server closes.
//
// The result must marshal to a JSON object or array. A non-nil error, or an
// object with an "error" field, makes an application error (HTTP 502 for a
// blocking invoke), exactly as a code action returning {"error": …}.
type BuiltinHandler func(ctx context.Context, params map[string]any, caller Identity) (any, error)

// builtin is a registered in-process action.
type builtin struct {
	fn BuiltinHandler
}

// BuiltinOption configures RegisterBuiltin.
type BuiltinOption func(*builtinSpec)

type builtinSpec struct {
	annotations    Params
	parameters     Params
	pkgPublish     bool
	pkgParameters  Params
	pkgAnnotations Params
	limits         ActionLimits
}

// WithAnnotation adds an annotation to the built-in action, e.g.
// WithAnnotation("feed", true) to list it among its package's feeds, or
// WithAnnotation("web-export", true) to serve it as a web action.
func WithAnnotation(key string, value any) BuiltinOption {
	return func(b *builtinSpec) { b.annotations = b.annotations.SetAny(key, value) }
}

// WithParameter binds a default parameter on the built-in action.
func WithParameter(key string, value any) BuiltinOption {
	return func(b *builtinSpec) { b.parameters = b.parameters.SetAny(key, value) }
}

// WithPublicPackage publishes the package holding the action, so that other
// namespaces may read it, bind it and invoke its actions.
func WithPublicPackage() BuiltinOption {
	return func(b *builtinSpec) { b.pkgPublish = true }
}

// WithPackageParameter binds a parameter on the package holding the action.
func WithPackageParameter(key string, value any) BuiltinOption {
	return func(b *builtinSpec) { b.pkgParameters = b.pkgParameters.SetAny(key, value) }
}

// WithPackageAnnotation annotates the package holding the action.
func WithPackageAnnotation(key string, value any) BuiltinOption {
	return func(b *builtinSpec) { b.pkgAnnotations = b.pkgAnnotations.SetAny(key, value) }
}

// WithTimeout sets the built-in action's time limit (default 60 s).
func WithTimeout(d time.Duration) BuiltinOption {
	return func(b *builtinSpec) { b.limits.Timeout = int(d.Milliseconds()) }
}

// ErrBuiltinConflict is returned when a built-in's name is taken by a stored
// entity of another kind or by a stored (non built-in) action.
var ErrBuiltinConflict = errors.New("name already used by a stored entity")

// RegisterBuiltin makes /ns/pkg/name (pkg "" for the default package) an
// action served by h. The namespace must be a configured identity. The
// package is created when missing (options of later registrations in the
// same package add to it). Built-in actions and their packages are not
// persisted (register them at every start) and cannot be updated or deleted
// through the API (403). Register before serving requests or concurrently:
// it is safe for concurrent use.
func (s *Server) RegisterBuiltin(ns, pkg, name string, h BuiltinHandler, opts ...BuiltinOption) error {
	if h == nil {
		return fmt.Errorf("register builtin %s/%s/%s: nil handler", ns, pkg, name)
	}
	if _, ok := s.ids.byNamespace[ns]; !ok {
		return fmt.Errorf("register builtin %s/%s/%s: namespace %q has no identity", ns, pkg, name, ns)
	}
	for _, n := range []string{ns, pkg, name} {
		if n != "" && !validName(n) {
			return fmt.Errorf("register builtin: %q is not a valid entity name", n)
		}
	}
	if pkg == packageDefault {
		return fmt.Errorf("register builtin %s/%s/%s: package name %q is reserved", ns, pkg, name, pkg)
	}
	spec := builtinSpec{limits: defaultActionLimits()}
	for _, o := range opts {
		o(&spec)
	}
	fqn := FQN{Namespace: ns, Package: pkg, Name: name}
	ctx := context.Background()

	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if pkg != "" {
		pid := ns + "/" + pkg
		if err := s.st.conflictIfOther(pid, colPackages); err != nil {
			return fmt.Errorf("register builtin %s: package: %w", fqn, ErrBuiltinConflict)
		}
		p := s.st.packages[pid]
		switch {
		case p == nil:
			p = &Package{Namespace: ns, Name: pkg, Version: initialVersion, Publish: spec.pkgPublish,
				Parameters: spec.pkgParameters, Annotations: spec.pkgAnnotations, builtin: true}
		case !p.builtin || p.Binding != nil:
			return fmt.Errorf("register builtin %s: package: %w", fqn, ErrBuiltinConflict)
		default:
			c := *p
			c.Publish = c.Publish || spec.pkgPublish
			c.Parameters = c.Parameters.Merge(spec.pkgParameters)
			c.Annotations = c.Annotations.Merge(spec.pkgAnnotations)
			p = &c
		}
		if p.Parameters == nil {
			p.Parameters = Params{}
		}
		if p.Annotations == nil {
			p.Annotations = Params{}
		}
		p.Updated = s.now()
		if err := s.st.putPackage(ctx, p); err != nil {
			return fmt.Errorf("register builtin %s: %w", fqn, err)
		}
	}
	id := fqn.String()
	if err := s.st.conflictIfOther(id, colActions); err != nil {
		return fmt.Errorf("register builtin %s: %w", fqn, ErrBuiltinConflict)
	}
	if old := s.st.actions[id]; old != nil && old.builtin == nil {
		return fmt.Errorf("register builtin %s: %w", fqn, ErrBuiltinConflict)
	}
	ann := spec.annotations
	if !ann.Has(annotationProvideAPIKey) {
		ann = ann.SetAny(annotationProvideAPIKey, false)
	}
	ann = ann.SetAny(annotationExec, defaultGoKind)
	params := spec.parameters
	if params == nil {
		params = Params{}
	}
	a := &Action{
		Namespace: fqn.Path(), Name: name, Version: initialVersion,
		Exec:   Exec{Kind: defaultGoKind, Code: "", Binary: false},
		Limits: spec.limits, Parameters: params, Annotations: ann,
		Updated: s.now(), builtin: &builtin{fn: h},
	}
	return s.st.putAction(ctx, a)
}

// runBuiltin calls a built-in handler with the action's time limit,
// recovering a panic as a developer error.
func (s *Server) runBuiltin(ctx context.Context, b *builtin, args []byte, caller Identity, id string, timeout time.Duration) (r runner.Result) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var params map[string]any
	if err := json.Unmarshal(args, &params); err != nil || params == nil {
		params = map[string]any{}
	}
	type outcome struct {
		v   any
		err error
		pan any
	}
	ch := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- outcome{pan: p}
			}
		}()
		v, err := b.fn(ctx, params, caller)
		ch <- outcome{v: v, err: err}
	}()
	var o outcome
	select {
	case o = <-ch:
	case <-ctx.Done():
		res := failed(start, runner.DeveloperError, fmt.Sprintf("The action exceeded its time limits of %d milliseconds.", timeout.Milliseconds()))
		res.TimedOut = true
		return res
	}
	switch {
	case o.pan != nil:
		s.log.Error("builtin action panicked", "activation_id", id, "panic", fmt.Sprint(o.pan))
		return failed(start, runner.DeveloperError, msgAbnormalRun)
	case o.err != nil:
		return failed(start, runner.ApplicationError, o.err.Error())
	}
	out, err := json.Marshal(o.v)
	if err != nil {
		return failed(start, runner.DeveloperError, "The action did not produce a valid JSON or JSON Array response.")
	}
	return runner.Result{Status: runner.Success, Response: out, Start: start, End: time.Now()}
}
