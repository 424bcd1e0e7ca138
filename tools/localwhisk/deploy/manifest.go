package deploy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrInvalidManifest is matched (errors.Is) by every *ManifestError.
var ErrInvalidManifest = errors.New("invalid manifest")

// ManifestError is a manifest that cannot be deployed: a key that is unknown
// or not supported, a value of the wrong form, a missing file or a required
// input without value.
type ManifestError struct {
	File  string // the manifest path as given
	Line  int    // 1-based line of the key; 0 when the error is not tied to one
	Where string // the entity, e.g. `package "p" action "a"`; "" at the top level
	Key   string // the key at fault, e.g. "runtime", "limits.timeout" or "inputs.url"
	Msg   string
}

func (e *ManifestError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Where != "" {
		b.WriteString(e.Where)
		b.WriteString(": ")
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "key %q: ", e.Key)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidManifest) true.
func (e *ManifestError) Is(target error) bool { return target == ErrInvalidManifest }

// defaultPackage is wskdeploy's reserved package name: its actions are
// deployed at namespace level and no package entity is created.
const defaultPackage = "default"

// unsupportedKeys are wskdeploy manifest keys that localwhisk deploy
// recognises but does not implement.
var unsupportedKeys = map[string]bool{
	"sequences": true, "apis": true, "feeds": true, "code": true, "docker": true, "native": true,
	"conductor": true, "include": true, "exclude": true, "credential": true, "apiHost": true,
	"apigwAccessToken": true, "namespace": true, "repositories": true, "outputs": true,
	"exposedUrl": true, "rule": true, "config": true, "status": true, "schema": true,
	"concurrentActivations": true, "userInvocationRate": true, "codeSize": true,
	"parameterSize": true, "inputs": true, "version": true, "name": true, "annotations": true,
}

// manifest is the parsed structure of a manifest, values not yet resolved.
type manifest struct {
	file      string // path as given, for messages
	dir       string // directory that functions are relative to
	namespace string // project namespace, "" when not set
	packages  []*pkgDef
}

type pkgDef struct {
	name        string
	line        int
	version     string
	public      bool
	inputs      []inputDef
	annotations []annDef
	deps        []depDef
	actions     []actionDef
	triggers    []triggerDef
	rules       []ruleDef
}

func (p *pkgDef) isDefault() bool { return strings.EqualFold(p.name, defaultPackage) }

// inputDef is one input: single-line (name: value) or multi-line
// ({type, value, default, description, required}).
type inputDef struct {
	name      string
	line      int
	multiline bool
	typ       string // as written (multi-line only)
	typLine   int
	value     any // decoded YAML; nil when absent or null
	def       any
	required  bool
}

type annDef struct {
	key   string
	line  int
	value any
}

type depDef struct {
	name        string
	line        int
	location    string
	locLine     int
	inputs      []inputDef
	annotations []annDef
}

type actionDef struct {
	name         string
	line         int
	function     string
	functionKey  string // "function" or "location"
	functionLine int
	runtime      string
	runtimeLine  int
	main         string
	web          string
	webKey       string // "web" or "web-export"
	webLine      int
	version      string
	annotations  []annDef
	inputs       []inputDef
	limits       limitsDef
}

type limitsDef struct {
	timeout, memory, logs          *int
	timeoutLine, memLine, logsLine int
}

type triggerDef struct {
	name        string
	line        int
	feed        string
	feedLine    int
	inputs      []inputDef
	annotations []annDef
}

type ruleDef struct {
	name       string
	line       int
	trigger    string
	trigLine   int
	action     string
	actionLine int
}

// loadManifest reads and parses the manifest at path.
func loadManifest(path string) (*manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return parseManifest(path, data)
}

// parser walks the YAML tree, checking keys as it goes.
type parser struct{ file string }

func (p *parser) errf(n *yaml.Node, where, key, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &ManifestError{File: p.file, Line: line, Where: where, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// parseManifest parses a manifest; path is used for messages and to locate
// the functions.
func parseManifest(path string, data []byte) (*manifest, error) {
	p := &parser{file: path}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ManifestError{File: path, Msg: "not valid YAML: " + err.Error()}
	}
	m := &manifest{file: path, dir: filepath.Dir(path)}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &ManifestError{File: path, Key: "packages", Msg: "manifest is empty, expected project: {packages: …} or packages: …"}
	}
	root := deref(doc.Content[0])
	fields, err := p.fields(root, "", "project", "packages")
	if err != nil {
		return nil, err
	}
	var pkgs *yaml.Node
	for _, f := range fields {
		switch f.key {
		case "project":
			pf, err := p.fields(f.v, "project", "name", "namespace", "packages")
			if err != nil {
				return nil, err
			}
			for _, g := range pf {
				switch g.key {
				case "name":
					if _, err := p.str(g, "project"); err != nil {
						return nil, err
					}
				case "namespace":
					if m.namespace, err = p.str(g, "project"); err != nil {
						return nil, err
					}
				case "packages":
					if pkgs != nil {
						return nil, p.errf(g.k, "project", "packages", "packages are given both at the top level and under project; keep one")
					}
					pkgs = g.v
				}
			}
		case "packages":
			if pkgs != nil {
				return nil, p.errf(f.k, "", "packages", "packages are given both at the top level and under project; keep one")
			}
			pkgs = f.v
		}
	}
	if pkgs == nil {
		return nil, p.errf(root, "", "packages", "no packages, expected project: {packages: …} or packages: …")
	}
	entries, err := p.fields(pkgs, "packages")
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, p.errf(pkgs, "", "packages", "no packages to deploy")
	}
	for _, e := range entries {
		pkg, err := p.pkg(e)
		if err != nil {
			return nil, err
		}
		m.packages = append(m.packages, pkg)
	}
	return m, nil
}

func (p *parser) pkg(e field) (*pkgDef, error) {
	pkg := &pkgDef{name: e.key, line: e.k.Line}
	where := fmt.Sprintf("package %q", e.key)
	fields, err := p.fields(e.v, where, "version", "license", "public", "description", "inputs",
		"annotations", "dependencies", "actions", "triggers", "rules")
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		switch f.key {
		case "version":
			pkg.version, err = p.str(f, where)
		case "license", "description":
			_, err = p.str(f, where)
		case "public":
			pkg.public, err = p.boolean(f, where)
		case "inputs":
			pkg.inputs, err = p.inputs(f, where)
		case "annotations":
			pkg.annotations, err = p.annotations(f, where)
		case "dependencies":
			pkg.deps, err = p.deps(f, where)
		case "actions":
			pkg.actions, err = p.actions(f, where)
		case "triggers":
			pkg.triggers, err = p.triggers(f, where)
		case "rules":
			pkg.rules, err = p.rules(f, where)
		}
		if err != nil {
			return nil, err
		}
	}
	return pkg, nil
}

func (p *parser) deps(f field, where string) ([]depDef, error) {
	entries, err := p.fields(f.v, where+" dependencies")
	if err != nil {
		return nil, err
	}
	var out []depDef
	for _, e := range entries {
		d := depDef{name: e.key, line: e.k.Line}
		w := fmt.Sprintf("%s dependency %q", where, e.key)
		fields, err := p.fields(e.v, w, "location", "version", "inputs", "annotations")
		if err != nil {
			return nil, err
		}
		for _, g := range fields {
			switch g.key {
			case "location":
				d.location, err = p.str(g, w)
				d.locLine = g.k.Line
			case "version":
				_, err = p.str(g, w)
			case "inputs":
				d.inputs, err = p.inputs(g, w)
			case "annotations":
				d.annotations, err = p.annotations(g, w)
			}
			if err != nil {
				return nil, err
			}
		}
		if d.location == "" {
			return nil, p.errf(e.k, w, "location", "required, e.g. location: /whisk.system/alarms")
		}
		out = append(out, d)
	}
	return out, nil
}

func (p *parser) actions(f field, where string) ([]actionDef, error) {
	entries, err := p.fields(f.v, where+" actions")
	if err != nil {
		return nil, err
	}
	var out []actionDef
	for _, e := range entries {
		a := actionDef{name: e.key, line: e.k.Line}
		w := fmt.Sprintf("%s action %q", where, e.key)
		fields, err := p.fields(e.v, w, "function", "location", "runtime", "main", "web", "web-export",
			"annotations", "inputs", "limits", "version", "description")
		if err != nil {
			return nil, err
		}
		for _, g := range fields {
			var s string
			switch g.key {
			case "function", "location":
				s, err = p.str(g, w)
				// function wins over its deprecated alias location.
				if g.key == "function" || a.functionKey != "function" {
					a.function, a.functionKey, a.functionLine = s, g.key, g.k.Line
				}
			case "runtime":
				a.runtime, err = p.str(g, w)
				a.runtimeLine = g.k.Line
			case "main":
				a.main, err = p.str(g, w)
			case "web", "web-export":
				s, err = p.str(g, w)
				// web wins over its legacy alias web-export.
				if g.key == "web" || a.webKey != "web" {
					a.web, a.webKey, a.webLine = s, g.key, g.k.Line
				}
			case "version":
				a.version, err = p.str(g, w)
			case "description":
				_, err = p.str(g, w)
			case "annotations":
				a.annotations, err = p.annotations(g, w)
			case "inputs":
				a.inputs, err = p.inputs(g, w)
			case "limits":
				a.limits, err = p.limits(g, w)
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, a)
	}
	return out, nil
}

func (p *parser) limits(f field, where string) (limitsDef, error) {
	var l limitsDef
	fields, err := p.fields(f.v, where+" limits", "timeout", "memorySize", "logSize")
	if err != nil {
		return l, err
	}
	for _, g := range fields {
		var n int
		if err := g.v.Decode(&n); err != nil || g.v.Kind != yaml.ScalarNode {
			return l, p.errf(g.k, where, "limits."+g.key, "%q is not an integer", g.v.Value)
		}
		switch g.key {
		case "timeout":
			if n < 100 {
				return l, p.errf(g.k, where, "limits.timeout", "%d ms is too short, expected at least 100 (milliseconds)", n)
			}
			l.timeout, l.timeoutLine = &n, g.k.Line
		case "memorySize":
			if n < 128 {
				return l, p.errf(g.k, where, "limits.memorySize", "%d MB is too small, expected at least 128 (megabytes)", n)
			}
			l.memory, l.memLine = &n, g.k.Line
		case "logSize":
			if n < 1 {
				return l, p.errf(g.k, where, "limits.logSize", "%d MB: expected at least 1 (megabytes)", n)
			}
			l.logs, l.logsLine = &n, g.k.Line
		}
	}
	return l, nil
}

func (p *parser) triggers(f field, where string) ([]triggerDef, error) {
	entries, err := p.fields(f.v, where+" triggers")
	if err != nil {
		return nil, err
	}
	var out []triggerDef
	for _, e := range entries {
		t := triggerDef{name: e.key, line: e.k.Line}
		w := fmt.Sprintf("%s trigger %q", where, e.key)
		fields, err := p.fields(e.v, w, "feed", "source", "inputs", "annotations", "description")
		if err != nil {
			return nil, err
		}
		for _, g := range fields {
			var s string
			switch g.key {
			case "feed", "source":
				s, err = p.str(g, w)
				// feed wins over its legacy alias source.
				if g.key == "feed" || t.feed == "" {
					t.feed, t.feedLine = s, g.k.Line
				}
			case "description":
				_, err = p.str(g, w)
			case "inputs":
				t.inputs, err = p.inputs(g, w)
			case "annotations":
				t.annotations, err = p.annotations(g, w)
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, t)
	}
	return out, nil
}

func (p *parser) rules(f field, where string) ([]ruleDef, error) {
	entries, err := p.fields(f.v, where+" rules")
	if err != nil {
		return nil, err
	}
	var out []ruleDef
	for _, e := range entries {
		r := ruleDef{name: e.key, line: e.k.Line}
		w := fmt.Sprintf("%s rule %q", where, e.key)
		fields, err := p.fields(e.v, w, "trigger", "action", "description")
		if err != nil {
			return nil, err
		}
		for _, g := range fields {
			switch g.key {
			case "trigger":
				r.trigger, err = p.str(g, w)
				r.trigLine = g.k.Line
			case "action":
				r.action, err = p.str(g, w)
				r.actionLine = g.k.Line
			case "description":
				_, err = p.str(g, w)
			}
			if err != nil {
				return nil, err
			}
		}
		if r.trigger == "" {
			return nil, p.errf(e.k, w, "trigger", "required: the name of the rule's trigger")
		}
		if r.action == "" {
			return nil, p.errf(e.k, w, "action", "required: the rule's action, relative to the package unless it contains '/'")
		}
		out = append(out, r)
	}
	return out, nil
}

func (p *parser) inputs(f field, where string) ([]inputDef, error) {
	entries, err := p.fields(f.v, where+" inputs")
	if err != nil {
		return nil, err
	}
	var out []inputDef
	for _, e := range entries {
		in := inputDef{name: e.key, line: e.k.Line}
		v := deref(e.v)
		if v.Kind != yaml.MappingNode {
			if in.value, err = p.value(e.k, v, where, "inputs."+e.key); err != nil {
				return nil, err
			}
			out = append(out, in)
			continue
		}
		in.multiline = true
		key := "inputs." + e.key
		iw := fmt.Sprintf("%s input %q", where, e.key)
		fields, err := p.fields(v, iw, "type", "value", "default", "description", "required")
		if err != nil {
			return nil, err
		}
		for _, g := range fields {
			switch g.key {
			case "type":
				in.typ, err = p.str(g, iw)
				in.typLine = g.k.Line
			case "value":
				in.value, err = p.value(g.k, g.v, where, key+".value")
			case "default":
				in.def, err = p.value(g.k, g.v, where, key+".default")
			case "description":
				_, err = p.str(g, iw)
			case "required":
				in.required, err = p.boolean(g, iw)
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, in)
	}
	return out, nil
}

func (p *parser) annotations(f field, where string) ([]annDef, error) {
	entries, err := p.fields(f.v, where+" annotations")
	if err != nil {
		return nil, err
	}
	var out []annDef
	for _, e := range entries {
		v, err := p.value(e.k, e.v, where, "annotations."+e.key)
		if err != nil {
			return nil, err
		}
		out = append(out, annDef{key: e.key, line: e.k.Line, value: v})
	}
	return out, nil
}

// field is one entry of a mapping.
type field struct {
	key  string
	k, v *yaml.Node
}

// fields returns the entries of the mapping n in order (a null node is an
// empty mapping). When allowed is not empty, other keys are rejected.
func (p *parser) fields(n *yaml.Node, where string, allowed ...string) ([]field, error) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, where, "", "expected a mapping (key: value lines), got %s", describe(n))
	}
	var out []field
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, where, "", "keys must be plain names, got %s", describe(k))
		}
		if seen[k.Value] {
			return nil, p.errf(k, where, k.Value, "given twice")
		}
		seen[k.Value] = true
		if len(allowed) > 0 && !slices.Contains(allowed, k.Value) {
			sorted := slices.Clone(allowed)
			sort.Strings(sorted)
			if unsupportedKeys[k.Value] {
				return nil, p.errf(k, where, k.Value, "not supported by localwhisk deploy here (supported: %s); use the real wskdeploy for it", strings.Join(sorted, ", "))
			}
			return nil, p.errf(k, where, k.Value, "unknown key, expected one of: %s", strings.Join(sorted, ", "))
		}
		out = append(out, field{key: k.Value, k: k, v: v})
	}
	return out, nil
}

// str reads a scalar value as its text (null gives "").
func (p *parser) str(f field, where string) (string, error) {
	v := deref(f.v)
	if v.Kind != yaml.ScalarNode {
		return "", p.errf(f.k, where, f.key, "expected a single value, got %s", describe(v))
	}
	if v.ShortTag() == "!!null" {
		return "", nil
	}
	return v.Value, nil
}

// boolean reads true/false (also yes/no, as YAML 1.1 and wskdeploy do).
func (p *parser) boolean(f field, where string) (bool, error) {
	v := deref(f.v)
	if v.Kind == yaml.ScalarNode {
		if b, ok := yaml11Bool(v.Value); ok {
			return b, nil
		}
	}
	return false, p.errf(f.k, where, f.key, "expected true or false, got %s", describe(v))
}

// value decodes a parameter or annotation value: scalars as YAML 1.1 reads
// them (so an unquoted yes is true, as in wskdeploy), mappings as
// map[string]any, sequences as []any.
func (p *parser) value(k, n *yaml.Node, where, key string) (any, error) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		if b, ok := yaml11Bool(n.Value); ok {
			return b, nil
		}
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, p.errf(k, where, key, "cannot decode value: %v", err)
	}
	return normalize(v), nil
}

// yaml11Bool reads the boolean spellings of YAML 1.1.
func yaml11Bool(s string) (value, ok bool) {
	switch s {
	case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y":
		return true, true
	case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N":
		return false, true
	}
	return false, false
}

// normalize turns decoded YAML into values encoding/json accepts.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = normalize(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	default:
		return v
	}
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	default:
		return "an unexpected YAML node"
	}
}
