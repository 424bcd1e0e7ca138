package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// Undeploy removes what Deploy created for the manifest, as wskdeploy
// undeploy does: GET /, then rules, feed triggers (feed DELETE, then the
// trigger), plain triggers, actions, packages and dependency bindings, each
// in manifest order and each looked up before it is deleted. Entities that
// are already gone are fine. Unlike wskdeploy, a failure does not stop the
// run: every entity is attempted and the failures are returned together, so
// that as little as possible is left behind. Function files and input values
// are not needed.
func Undeploy(ctx context.Context, opts Options) error {
	if err := opts.validate("undeploy"); err != nil {
		return err
	}
	m, err := loadManifest(opts.ManifestPath)
	if err != nil {
		return fmt.Errorf("undeploy: %w", err)
	}
	p, err := (&builder{m: m, env: opts.env(), params: opts.Params}).build()
	if err != nil {
		return fmt.Errorf("undeploy: %w", err)
	}
	r, err := newRun(opts, m)
	if err != nil {
		return fmt.Errorf("undeploy: %w", err)
	}
	r.runtimes(ctx) // wskdeploy reads the runtimes for undeploy too
	if err := r.undeploy(ctx, p); err != nil {
		return fmt.Errorf("undeploy: %w", err)
	}
	return nil
}

func (r *run) undeploy(ctx context.Context, p *plan) error {
	var errs []error
	do := func(desc string, f func() (bool, error)) {
		_ = r.step(desc, func() (string, error) {
			found, err := f()
			if err != nil {
				errs = append(errs, err)
				return "", err
			}
			if !found {
				return "already gone", nil
			}
			return "", nil
		})
	}
	for _, ru := range p.rules {
		q := whisk.QName{Name: ru.name}
		do("undeploy rule "+ru.name, func() (bool, error) {
			return r.lookupAndDelete(ctx,
				func() error { _, err := r.c.Rule(ctx, q); return err },
				func() error { return r.c.DeleteRule(ctx, q) })
		})
	}
	for _, t := range p.triggers {
		if t.feed == "" {
			continue
		}
		do(fmt.Sprintf("undeploy trigger %s (feed %s)", t.name, t.feed), func() (bool, error) {
			var feedErr error
			if err := r.deleteFeed(ctx, t); err != nil && !whisk.IsNotFound(err) {
				// Delete the trigger anyway, and report the feed's failure.
				feedErr = fmt.Errorf("feed DELETE of trigger %s: %w", t.name, err)
			}
			found, err := r.deleteTrigger(ctx, t.name)
			return found, errors.Join(feedErr, err)
		})
	}
	for _, t := range p.triggers {
		if t.feed != "" {
			continue
		}
		do("undeploy trigger "+t.name, func() (bool, error) { return r.deleteTrigger(ctx, t.name) })
	}
	for _, a := range p.actions {
		do(fmt.Sprintf("undeploy action %s", a.name), func() (bool, error) {
			return r.lookupAndDelete(ctx,
				func() error { _, err := r.c.Action(ctx, a.name, false); return err },
				func() error { return r.c.DeleteAction(ctx, a.name) })
		})
	}
	for _, pp := range p.packages {
		q := whisk.QName{Name: pp.name}
		do("undeploy package "+pp.name, func() (bool, error) {
			return r.lookupAndDelete(ctx,
				func() error { _, err := r.c.Package(ctx, q); return err },
				func() error { return r.c.DeletePackage(ctx, q, false) })
		})
	}
	for _, b := range p.bindings {
		q := whisk.QName{Name: b.name}
		do("undeploy binding "+b.name, func() (bool, error) {
			err := r.write(ctx, func() error { return r.c.DeletePackage(ctx, q, false) })
			if whisk.IsNotFound(err) {
				return false, nil
			}
			return err == nil, err
		})
	}
	return errors.Join(errs...)
}

func (r *run) deleteTrigger(ctx context.Context, name string) (bool, error) {
	q := whisk.QName{Name: name}
	return r.lookupAndDelete(ctx,
		func() error { _, err := r.c.Trigger(ctx, q); return err },
		func() error { return r.c.DeleteTrigger(ctx, q) })
}

// lookupAndDelete runs get, then (when the entity exists) del with
// wskdeploy's retry. A 404 from either means the entity is gone.
func (r *run) lookupAndDelete(ctx context.Context, get, del func() error) (bool, error) {
	if err := get(); err != nil {
		if whisk.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	err := r.write(ctx, del)
	if whisk.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
