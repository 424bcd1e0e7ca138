package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/store"
)

// Collection names, also the persistence folders.
const (
	colActions     = "actions"
	colPackages    = "packages"
	colTriggers    = "triggers"
	colRules       = "rules"
	colActivations = "activations"
	colLimits      = "limits"
	colNamespaces  = "namespaces"
)

// state holds every entity. Stored values are never mutated: an update
// stores a new value. Callers hold mu while reading and writing.
type state struct {
	mu       sync.RWMutex
	actions  map[string]*Action
	packages map[string]*Package
	triggers map[string]*Trigger
	rules    map[string]*Rule
	disk     *store.Dir // nil: memory only
}

func newState(ctx context.Context, dataDir string) (*state, error) {
	st := &state{
		actions:  map[string]*Action{},
		packages: map[string]*Package{},
		triggers: map[string]*Trigger{},
		rules:    map[string]*Rule{},
	}
	if dataDir == "" {
		return st, nil
	}
	d, err := store.Open(dataDir)
	if err != nil {
		return nil, fmt.Errorf("open entity store: %w", err)
	}
	st.disk = d
	if err := loadInto(ctx, d, colActions, st.actions); err != nil {
		return nil, err
	}
	if err := loadInto(ctx, d, colPackages, st.packages); err != nil {
		return nil, err
	}
	if err := loadInto(ctx, d, colTriggers, st.triggers); err != nil {
		return nil, err
	}
	if err := loadInto(ctx, d, colRules, st.rules); err != nil {
		return nil, err
	}
	return st, nil
}

func loadInto[T any](ctx context.Context, d *store.Dir, collection string, into map[string]*T) error {
	docs, err := d.All(ctx, collection)
	if err != nil {
		return fmt.Errorf("load %s: %w", collection, err)
	}
	for id, b := range docs {
		v := new(T)
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("load %s %q: %w", collection, id, err)
		}
		into[id] = v
	}
	return nil
}

// kindOf names the collection holding docid, or "".
func (st *state) kindOf(docid string) string {
	switch {
	case st.actions[docid] != nil:
		return colActions
	case st.packages[docid] != nil:
		return colPackages
	case st.triggers[docid] != nil:
		return colTriggers
	case st.rules[docid] != nil:
		return colRules
	}
	return ""
}

// conflictIfOther returns 409 when docid exists in another collection.
func (st *state) conflictIfOther(docid, collection string) error {
	if k := st.kindOf(docid); k != "" && k != collection {
		return newError(http.StatusConflict, msgConformance)
	}
	return nil
}

// persist writes (v != nil) or deletes one document; memory only is a no-op.
func (st *state) persist(ctx context.Context, collection, docid string, v any) error {
	if st.disk == nil {
		return nil
	}
	if v == nil {
		if err := st.disk.Delete(ctx, collection, docid); err != nil {
			return fmt.Errorf("persist %s: %w", collection, err)
		}
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("persist %s %q: %w", collection, docid, err)
	}
	if err := st.disk.Put(ctx, collection, docid, b); err != nil {
		return fmt.Errorf("persist %s: %w", collection, err)
	}
	return nil
}

func (st *state) putAction(ctx context.Context, a *Action) error {
	return putDoc(ctx, st, st.actions, colActions, a)
}

func (st *state) deleteAction(ctx context.Context, id string) error {
	return deleteDoc(ctx, st, st.actions, colActions, id)
}

func (st *state) putPackage(ctx context.Context, p *Package) error {
	return putDoc(ctx, st, st.packages, colPackages, p)
}

func (st *state) deletePackage(ctx context.Context, id string) error {
	return deleteDoc(ctx, st, st.packages, colPackages, id)
}

func (st *state) putTrigger(ctx context.Context, t *Trigger) error {
	return putDoc(ctx, st, st.triggers, colTriggers, t)
}

func (st *state) deleteTrigger(ctx context.Context, id string) error {
	return deleteDoc(ctx, st, st.triggers, colTriggers, id)
}

func (st *state) putRule(ctx context.Context, r *Rule) error {
	return putDoc(ctx, st, st.rules, colRules, r)
}

func (st *state) deleteRule(ctx context.Context, id string) error {
	return deleteDoc(ctx, st, st.rules, colRules, id)
}

// actionsIn returns the actions whose namespace path is path ("ns" lists
// every action of the namespace including those in packages, "ns/pkg" one
// package), newest first.
func (st *state) actionsIn(path string, wholeNamespace bool) []*Action {
	var out []*Action
	for _, a := range st.actions {
		if a.Namespace == path || (wholeNamespace && strings.HasPrefix(a.Namespace, path+"/")) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Updated != out[j].Updated {
			return out[i].Updated > out[j].Updated
		}
		return out[i].fqn().String() < out[j].fqn().String()
	})
	return out
}

func sortNewest[T any](list []T, updated func(T) int64, name func(T) string) {
	sort.Slice(list, func(i, j int) bool {
		ui, uj := updated(list[i]), updated(list[j])
		if ui != uj {
			return ui > uj
		}
		return name(list[i]) < name(list[j])
	})
}
