package server

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Exec is an action's code and kind.
type Exec struct {
	Kind   string `json:"kind"`
	Code   string `json:"code"`
	Binary bool   `json:"binary"`
	Main   string `json:"main,omitempty"`
}

// ActionLimits are an action's limits (timeout in ms, memory and logs in MB).
type ActionLimits struct {
	Timeout     int `json:"timeout"`
	Memory      int `json:"memory"`
	Logs        int `json:"logs"`
	Concurrency int `json:"concurrency"`
}

func defaultActionLimits() ActionLimits {
	return ActionLimits{Timeout: defaultActionTimeoutMS, Memory: defaultActionMemoryMB, Logs: defaultActionLogsMB, Concurrency: defaultConcurrency}
}

// Action is a stored action, in the JSON shape of the controller.
type Action struct {
	Namespace   string       `json:"namespace"`
	Name        string       `json:"name"`
	Version     string       `json:"version"`
	Publish     bool         `json:"publish"`
	Exec        Exec         `json:"exec"`
	Parameters  Params       `json:"parameters"`
	Limits      ActionLimits `json:"limits"`
	Annotations Params       `json:"annotations"`
	Updated     int64        `json:"updated"`

	builtin *builtin
}

// fqn returns the action's fully qualified name.
func (a *Action) fqn() FQN {
	ns, pkg, _ := strings.Cut(a.Namespace, "/")
	return FQN{Namespace: ns, Package: pkg, Name: a.Name}
}

func (a *Action) updatedAt() int64 { return a.Updated }
func (a *Action) isBuiltin() bool  { return a.builtin != nil }

// metadata is the action without code (GET ?code=false).
func (a *Action) metadata() any {
	type execMeta struct {
		Kind   string `json:"kind"`
		Binary bool   `json:"binary"`
		Main   string `json:"main,omitempty"`
	}
	return struct {
		Namespace   string       `json:"namespace"`
		Name        string       `json:"name"`
		Version     string       `json:"version"`
		Publish     bool         `json:"publish"`
		Exec        execMeta     `json:"exec"`
		Parameters  Params       `json:"parameters"`
		Limits      ActionLimits `json:"limits"`
		Annotations Params       `json:"annotations"`
		Updated     int64        `json:"updated"`
	}{a.Namespace, a.Name, a.Version, a.Publish, execMeta{a.Exec.Kind, a.Exec.Binary, a.Exec.Main}, a.Parameters, a.Limits, a.Annotations, a.Updated}
}

// summary is the list row of an action.
func (a *Action) summary() any {
	return struct {
		Namespace   string       `json:"namespace"`
		Name        string       `json:"name"`
		Version     string       `json:"version"`
		Publish     bool         `json:"publish"`
		Annotations Params       `json:"annotations"`
		Limits      ActionLimits `json:"limits"`
		Exec        struct {
			Binary bool `json:"binary"`
		} `json:"exec"`
		Updated int64 `json:"updated"`
	}{Namespace: a.Namespace, Name: a.Name, Version: a.Version, Publish: a.Publish, Annotations: a.Annotations, Limits: a.Limits,
		Exec: struct {
			Binary bool `json:"binary"`
		}{a.Exec.Binary}, Updated: a.Updated}
}

// Binding names the package a binding refers to.
type Binding struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Package is a stored package or binding.
type Package struct {
	Namespace   string   `json:"namespace"`
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Publish     bool     `json:"publish"`
	Annotations Params   `json:"annotations"`
	Parameters  Params   `json:"parameters"`
	Binding     *Binding `json:"binding,omitempty"`
	Updated     int64    `json:"updated"`

	builtin bool
}

func (p *Package) fqn() FQN         { return FQN{Namespace: p.Namespace, Name: p.Name} }
func (p *Package) updatedAt() int64 { return p.Updated }
func (p *Package) isBuiltin() bool  { return p.builtin }

// bindingJSON is {} for a package and {namespace,name} for a binding.
func (p *Package) bindingJSON() any {
	if p.Binding == nil {
		return struct{}{}
	}
	return p.Binding
}

// packageAction is one entry of a package's actions or feeds.
type packageAction struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Annotations Params `json:"annotations"`
}

// view is the package as answered by PUT/DELETE (no actions) or by GET
// (with actions and feeds when listed is true).
func (p *Package) view(params Params, actions, feeds []packageAction, listed bool) any {
	type base struct {
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		Version     string `json:"version"`
		Publish     bool   `json:"publish"`
		Annotations Params `json:"annotations"`
		Parameters  Params `json:"parameters"`
		Binding     any    `json:"binding"`
		Updated     int64  `json:"updated"`
	}
	b := base{p.Namespace, p.Name, p.Version, p.Publish, p.Annotations, params, p.bindingJSON(), p.Updated}
	if !listed {
		return b
	}
	if actions == nil {
		actions = []packageAction{}
	}
	if feeds == nil {
		feeds = []packageAction{}
	}
	return struct {
		base
		Actions []packageAction `json:"actions"`
		Feeds   []packageAction `json:"feeds"`
	}{b, actions, feeds}
}

// summary is the list row of a package: binding is false for packages.
func (p *Package) summary() any {
	var binding any = false
	if p.Binding != nil {
		binding = p.Binding
	}
	return struct {
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		Version     string `json:"version"`
		Publish     bool   `json:"publish"`
		Annotations Params `json:"annotations"`
		Binding     any    `json:"binding"`
		Updated     int64  `json:"updated"`
	}{p.Namespace, p.Name, p.Version, p.Publish, p.Annotations, binding, p.Updated}
}

// ruleLink is one entry of a trigger's rules map.
type ruleLink struct {
	Rule   string   // "ns/rule"
	Action pathName // as written in the rule
	Status string   // active | inactive
}

// ruleLinks is an ordered map serialised as {"ns/rule": {action, status}}.
type ruleLinks []ruleLink

// MarshalJSON writes the links as one object, in insertion order.
func (rl ruleLinks) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range rl {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(l.Rule)
		v, err := json.Marshal(struct {
			Action pathName `json:"action"`
			Status string   `json:"status"`
		}{l.Action, l.Status})
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// UnmarshalJSON reads the object form (order of a stored file is kept).
func (rl *ruleLinks) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if _, err := dec.Token(); err != nil {
		return err
	}
	var out ruleLinks
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		var v struct {
			Action pathName `json:"action"`
			Status string   `json:"status"`
		}
		if err := dec.Decode(&v); err != nil {
			return err
		}
		out = append(out, ruleLink{Rule: key, Action: v.Action, Status: v.Status})
	}
	*rl = out
	return nil
}

// Trigger is a stored trigger. Rules is nil until a rule was ever linked.
type Trigger struct {
	Namespace   string     `json:"namespace"`
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Publish     bool       `json:"publish"`
	Annotations Params     `json:"annotations"`
	Parameters  Params     `json:"parameters"`
	Limits      struct{}   `json:"limits"`
	Rules       *ruleLinks `json:"rules,omitempty"`
	Updated     int64      `json:"updated"`
}

func (t *Trigger) fqn() FQN         { return FQN{Namespace: t.Namespace, Name: t.Name} }
func (t *Trigger) updatedAt() int64 { return t.Updated }
func (t *Trigger) isBuiltin() bool  { return false }

func (t *Trigger) summary() any {
	return struct {
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		Version     string `json:"version"`
		Publish     bool   `json:"publish"`
		Annotations Params `json:"annotations"`
		Updated     int64  `json:"updated"`
	}{t.Namespace, t.Name, t.Version, t.Publish, t.Annotations, t.Updated}
}

// link returns the rule link of rule (ns/name) if present.
func (t *Trigger) link(rule string) (ruleLink, bool) {
	if t.Rules == nil {
		return ruleLink{}, false
	}
	for _, l := range *t.Rules {
		if l.Rule == rule {
			return l, true
		}
	}
	return ruleLink{}, false
}

// withLink returns a copy of t with rule's link set (added last if new).
func (t *Trigger) withLink(l ruleLink) *Trigger {
	c := *t
	var links ruleLinks
	if t.Rules != nil {
		links = append(links, *t.Rules...)
	}
	replaced := false
	for i := range links {
		if links[i].Rule == l.Rule {
			links[i] = l
			replaced = true
		}
	}
	if !replaced {
		links = append(links, l)
	}
	c.Rules = &links
	return &c
}

// withoutLink returns a copy of t without rule's link.
func (t *Trigger) withoutLink(rule string) *Trigger {
	c := *t
	links := ruleLinks{}
	if t.Rules != nil {
		for _, l := range *t.Rules {
			if l.Rule != rule {
				links = append(links, l)
			}
		}
	}
	c.Rules = &links
	return &c
}

// Rule is a stored rule; its status lives in the trigger.
type Rule struct {
	Namespace   string   `json:"namespace"`
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Publish     bool     `json:"publish"`
	Annotations Params   `json:"annotations"`
	Trigger     pathName `json:"trigger"`
	Action      pathName `json:"action"`
	Updated     int64    `json:"updated"`
}

func (r *Rule) fqn() FQN         { return FQN{Namespace: r.Namespace, Name: r.Name} }
func (r *Rule) updatedAt() int64 { return r.Updated }
func (r *Rule) isBuiltin() bool  { return false }

func (r *Rule) withStatus(status string) any {
	return struct {
		Namespace   string   `json:"namespace"`
		Name        string   `json:"name"`
		Version     string   `json:"version"`
		Publish     bool     `json:"publish"`
		Annotations Params   `json:"annotations"`
		Status      string   `json:"status"`
		Trigger     pathName `json:"trigger"`
		Action      pathName `json:"action"`
		Updated     int64    `json:"updated"`
	}{r.Namespace, r.Name, r.Version, r.Publish, r.Annotations, status, r.Trigger, r.Action, r.Updated}
}

// semver handling: "major.minor.patch".

func parseVersion(s string) ([3]int, error) {
	var v [3]int
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("bad semantic version %q", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, fmt.Errorf("bad semantic version %q", s)
		}
		v[i] = n
	}
	return v, nil
}

func upPatch(s string) string {
	v, err := parseVersion(s)
	if err != nil {
		return "0.0.1"
	}
	return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]+1)
}

const initialVersion = "0.0.1"
