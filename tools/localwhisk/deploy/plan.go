package deploy

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// plan is what a manifest deploys, in deployment order within each kind.
type plan struct {
	packages []plannedPackage // real packages (not "default")
	bindings []plannedPackage // dependency bindings
	actions  []plannedAction
	triggers []plannedTrigger
	rules    []plannedRule
}

type plannedPackage struct {
	name string
	pkg  whisk.Package
}

type plannedAction struct {
	name    whisk.QName // package (unless "default") and name
	action  whisk.Action
	zip     bool
	def     actionDef
	pkgName string
}

type plannedTrigger struct {
	name    string
	feed    string      // as written (interpolated); "" for a plain trigger
	feedQ   whisk.QName // feed action
	trigger whisk.Trigger
	params  whisk.KeyValues // feed parameters (feed triggers) or trigger parameters
}

type plannedRule struct {
	name    string
	trigger whisk.QName
	action  whisk.QName
}

// builder turns a parsed manifest into a plan.
type builder struct {
	m      *manifest
	env    func(string) string
	params map[string]string
	// full resolves inputs and reads functions (deploy); without it only
	// names are computed (undeploy).
	full bool
}

func (b *builder) errf(line int, where, key, format string, args ...any) error {
	return &ManifestError{File: b.m.file, Line: line, Where: where, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (b *builder) build() (*plan, error) {
	p := &plan{}
	triggers, rules, entities := map[string]int{}, map[string]int{}, map[string]int{}
	for _, pkg := range b.m.packages {
		pw := fmt.Sprintf("package %q", pkg.name)
		var pkgValues map[string]any
		if !pkg.isDefault() {
			entities[pkg.name] = pkg.line
			kv, values, err := b.packageInputs(pkg, pw)
			if err != nil {
				return nil, err
			}
			pkgValues = values
			version := pkg.version
			if version == "" {
				version = "0.0.1"
			}
			p.packages = append(p.packages, plannedPackage{name: pkg.name, pkg: whisk.Package{
				Version:     interpolate(version, b.env),
				Publish:     pkg.public,
				Parameters:  kv,
				Annotations: b.annotations(pkg.annotations),
			}})
		} else if b.full {
			var err error
			if _, pkgValues, err = b.packageInputs(pkg, pw); err != nil {
				return nil, err
			}
		}
		for _, d := range pkg.deps {
			dw := fmt.Sprintf("%s dependency %q", pw, d.name)
			if line, dup := entities[d.name]; dup {
				return nil, b.errf(d.line, dw, "", "package name %q is already used on line %d", d.name, line)
			}
			entities[d.name] = d.line
			q, err := whisk.ParseQName(d.location)
			if err != nil || q.Namespace == "" || q.Package != "" {
				return nil, b.errf(d.locLine, dw, "location", "%q: expected /namespace/package, e.g. /whisk.system/alarms (GitHub dependencies are not supported by localwhisk deploy)", d.location)
			}
			kv, err := b.inputs(d.inputs, dw, pkgValues)
			if err != nil {
				return nil, err
			}
			p.bindings = append(p.bindings, plannedPackage{name: d.name, pkg: whisk.Package{
				Binding:     whisk.Binding{Namespace: q.Namespace, Name: q.Name},
				Parameters:  kv,
				Annotations: b.annotations(d.annotations),
			}})
		}
		for _, a := range pkg.actions {
			pa, err := b.action(pkg, a, pw, pkgValues)
			if err != nil {
				return nil, err
			}
			p.actions = append(p.actions, pa)
		}
		for _, t := range pkg.triggers {
			tw := fmt.Sprintf("%s trigger %q", pw, t.name)
			if line, dup := triggers[t.name]; dup {
				return nil, b.errf(t.line, tw, "", "trigger %q is already defined on line %d (triggers are namespace-level)", t.name, line)
			}
			triggers[t.name] = t.line
			pt, err := b.trigger(t, tw, pkgValues)
			if err != nil {
				return nil, err
			}
			p.triggers = append(p.triggers, pt)
		}
		for _, r := range pkg.rules {
			rw := fmt.Sprintf("%s rule %q", pw, r.name)
			if line, dup := rules[r.name]; dup {
				return nil, b.errf(r.line, rw, "", "rule %q is already defined on line %d (rules are namespace-level)", r.name, line)
			}
			rules[r.name] = r.line
			pr, err := b.rule(pkg, r, rw)
			if err != nil {
				return nil, err
			}
			p.rules = append(p.rules, pr)
		}
	}
	return p, nil
}

// packageInputs resolves a package's inputs. Beyond the manifest and
// --param, an input left empty takes the environment variable of its own
// name, as wskdeploy does. It returns the parameters and the values by name
// (for action inputs that refer to them as $NAME).
func (b *builder) packageInputs(pkg *pkgDef, where string) (whisk.KeyValues, map[string]any, error) {
	if !b.full {
		return nil, nil, nil
	}
	var kv whisk.KeyValues
	values := map[string]any{}
	var missing []inputDef
	for _, in := range pkg.inputs {
		r, err := resolveInput(in, b.env)
		if err != nil {
			return nil, nil, b.errf(in.line, where, "inputs."+in.name, "%v", err)
		}
		if isZero(r.typ, r.value) {
			if e := b.env(in.name); e != "" {
				r.value = e
			}
		}
		if p, ok := b.params[in.name]; ok {
			r.value = interpolate(p, b.env)
		}
		if in.required && isZero(r.typ, r.value) {
			missing = append(missing, in)
		}
		if r.value != nil {
			kv = append(kv, whisk.KeyValue{Key: in.name, Value: r.value})
			values[in.name] = r.value
		}
	}
	if err := b.missing(where, missing); err != nil {
		return nil, nil, err
	}
	return kv, values, nil
}

// inputs resolves the inputs of a binding, action or trigger: --param first,
// then the manifest; a string input whose $NAME value came out empty takes
// the value of the package input NAME, as wskdeploy does.
func (b *builder) inputs(ins []inputDef, where string, pkgValues map[string]any) (whisk.KeyValues, error) {
	if !b.full {
		return nil, nil
	}
	var kv whisk.KeyValues
	var missing []inputDef
	for _, in := range ins {
		var r resolved
		if p, ok := b.params[in.name]; ok {
			r.typ, r.value = typeString, interpolate(p, b.env)
			if in.multiline && in.typ != "" {
				r.typ = typeNames[in.typ]
			}
		} else {
			var err error
			if r, err = resolveInput(in, b.env); err != nil {
				return nil, b.errf(in.line, where, "inputs."+in.name, "%v", err)
			}
			if raw, ok := rawString(in); ok && r.typ == typeString && r.value == "" {
				if v, ok := pkgValues[envVarName(raw)]; ok {
					r.value = v
				}
			}
		}
		if in.required && isZero(r.typ, r.value) {
			missing = append(missing, in)
		}
		if r.value != nil {
			kv = append(kv, whisk.KeyValue{Key: in.name, Value: r.value})
		}
	}
	if err := b.missing(where, missing); err != nil {
		return nil, err
	}
	return kv, nil
}

// rawString returns the value of an input as written, when it is a string.
func rawString(in inputDef) (string, bool) {
	v := in.value
	if v == nil {
		v = in.def
	}
	s, ok := v.(string)
	return s, ok && s != ""
}

func (b *builder) missing(where string, missing []inputDef) error {
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, len(missing))
	for i, in := range missing {
		names[i] = in.name
	}
	return b.errf(missing[0].line, where, "inputs."+missing[0].name,
		"required input without value (missing: %s); set it in the manifest, in the environment or with --param NAME VALUE",
		strings.Join(names, ", "))
}

// annotations converts manifest annotations; string values are interpolated.
func (b *builder) annotations(anns []annDef) whisk.KeyValues {
	var kv whisk.KeyValues
	for _, a := range anns {
		v := a.value
		if s, ok := v.(string); ok {
			v = interpolate(s, b.env)
		}
		kv = append(kv, whisk.KeyValue{Key: a.key, Value: v})
	}
	return kv
}

// Web annotations written by web: true|yes|raw|false|no.
const (
	annWebExport = "web-export"
	annRawHTTP   = "raw-http"
	annFinal     = "final"
)

func (b *builder) action(pkg *pkgDef, a actionDef, pw string, pkgValues map[string]any) (plannedAction, error) {
	aw := fmt.Sprintf("%s action %q", pw, a.name)
	name := whisk.QName{Name: a.name}
	if !pkg.isDefault() {
		name.Package = pkg.name
	}
	pa := plannedAction{name: name, def: a, pkgName: pkg.name}
	if !b.full {
		return pa, nil
	}
	code, zip, err := b.function(a, aw)
	if err != nil {
		return pa, err
	}
	if a.runtime == "" {
		if zip {
			return pa, b.errf(a.line, aw, "runtime", "required for a zip function (e.g. runtime: go:1.24): the kind cannot be derived from a zip")
		}
		return pa, b.errf(a.line, aw, "runtime", "required: localwhisk deploy does not derive runtimes from file extensions")
	}
	ann := b.annotations(a.annotations)
	if a.web != "" {
		var webExport, raw, final bool
		switch strings.ToLower(a.web) {
		case "true", "yes":
			webExport, final = true, true
		case "raw":
			webExport, raw, final = true, true, true
		case "false", "no":
		default:
			return pa, b.errf(a.webLine, aw, a.webKey, "%q: expected true, yes, raw, false or no", a.web)
		}
		ann = ann.Without(annWebExport).Without(annRawHTTP).Without(annFinal)
		ann = append(ann,
			whisk.KeyValue{Key: annWebExport, Value: webExport},
			whisk.KeyValue{Key: annRawHTTP, Value: raw},
			whisk.KeyValue{Key: annFinal, Value: final})
	}
	params, err := b.inputs(a.inputs, aw, pkgValues)
	if err != nil {
		return pa, err
	}
	var limits *whisk.Limits
	if l := a.limits; l.timeout != nil || l.memory != nil || l.logs != nil {
		limits = &whisk.Limits{}
		if l.timeout != nil {
			limits.Timeout = *l.timeout
		}
		if l.memory != nil {
			limits.Memory = *l.memory
		}
		if l.logs != nil {
			limits.Logs = *l.logs
		}
	}
	pa.zip = zip
	pa.action = whisk.Action{
		Version:     interpolate(a.version, b.env),
		Exec:        &whisk.Exec{Kind: a.runtime, Code: code, Main: a.main},
		Parameters:  params,
		Annotations: ann,
		Limits:      limits,
	}
	return pa, nil
}

// function reads an action's code: a zip (or jar) file is sent base64, a
// directory is zipped first, any other file is sent as text.
func (b *builder) function(a actionDef, where string) (code string, zip bool, err error) {
	if a.function == "" {
		return "", false, b.errf(a.line, where, "function", "required: a .zip file or a directory, relative to the manifest")
	}
	rel := interpolate(a.function, b.env)
	path := rel
	if !filepath.IsAbs(path) {
		path = filepath.Join(b.m.dir, filepath.FromSlash(rel))
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, b.errf(a.functionLine, where, a.functionKey, "%q does not exist (paths are relative to the manifest's directory)", rel)
		}
		return "", false, b.errf(a.functionLine, where, a.functionKey, "%q: %v", rel, err)
	}
	if st.IsDir() {
		data, err := zipDir(path)
		if err != nil {
			return "", false, b.errf(a.functionLine, where, a.functionKey, "zip directory %q: %v", rel, err)
		}
		return base64.StdEncoding.EncodeToString(data), true, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", false, b.errf(a.functionLine, where, a.functionKey, "%q: %v", rel, err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".zip", ".jar":
		return base64.StdEncoding.EncodeToString(data), true, nil
	default:
		return string(data), false, nil
	}
}

func (b *builder) trigger(t triggerDef, where string, pkgValues map[string]any) (plannedTrigger, error) {
	pt := plannedTrigger{name: t.name}
	var ann whisk.KeyValues
	if t.feed != "" {
		pt.feed = interpolate(t.feed, b.env)
		q, err := whisk.ParseQName(pt.feed)
		if err != nil {
			return pt, b.errf(t.feedLine, where, "feed", "%q: expected a feed action such as /whisk.system/alarms/interval or binding/feed: %v", pt.feed, err)
		}
		pt.feedQ = q
		ann = append(ann, whisk.KeyValue{Key: "feed", Value: pt.feed})
	}
	for _, a := range t.annotations {
		if a.key == "feed" {
			return pt, b.errf(a.line, where, "annotations.feed", "set the trigger's feed with the feed key, not as an annotation")
		}
	}
	ann = append(ann, b.annotations(t.annotations)...)
	params, err := b.inputs(t.inputs, where, pkgValues)
	if err != nil {
		return pt, err
	}
	pt.params = params
	if pt.feed != "" {
		// wskdeploy stores no parameters on a feed trigger (they go to the
		// feed) and publishes it.
		pt.trigger = whisk.Trigger{Annotations: ann, Publish: true}
	} else {
		pt.trigger = whisk.Trigger{Annotations: ann, Parameters: params}
	}
	return pt, nil
}

func (b *builder) rule(pkg *pkgDef, r ruleDef, where string) (plannedRule, error) {
	pr := plannedRule{name: r.name}
	trig := interpolate(r.trigger, b.env)
	tq, err := whisk.ParseQName(trig)
	if err != nil || tq.Package != "" {
		return pr, b.errf(r.trigLine, where, "trigger", "%q: expected a trigger name", trig)
	}
	act := interpolate(r.action, b.env)
	if !strings.Contains(act, "/") && !pkg.isDefault() {
		act = pkg.name + "/" + act
	}
	aq, err := whisk.ParseQName(act)
	if err != nil {
		return pr, b.errf(r.actionLine, where, "action", "%q: expected action, package/action or /namespace/package/action: %v", act, err)
	}
	pr.trigger, pr.action = tq, aq
	return pr, nil
}
