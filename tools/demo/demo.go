package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

// Names of what the demo creates in the guest namespace. The triggers carry
// the annotation demoAnnotation, so that a later run can tell the leftovers
// of an interrupted one from the user's own entities.
const (
	sampleAction    = "whiskfeed-demo-sample"
	sampleKind      = "go:1.24"
	polledTrigger   = "uploads-polled"
	notifiedTrigger = "uploads-notified"
	demoAnnotation  = "whiskfeed-demo"
	pollCron        = "*/5 * * * * *" // every 5 seconds, so the demo is quick
	pollEvery       = "5 s"
	watchInterval   = 500 * time.Millisecond
	cleanUpTimeout  = 2 * time.Minute
)

var (
	changesFeed       = whisk.MustParseQName("/whisk.system/s3-trigger-feed/changes")
	notificationsFeed = whisk.MustParseQName("/whisk.system/s3-trigger-feed/notifications")
)

func ruleName(trigger string) string { return trigger + "-to-sample" }

// The files of the demo.
const (
	fileBefore = "README.txt" // in the bucket before the triggers exist
	fileCSV    = "reports/q3.csv"
	fileSVG    = "images/logo.svg"
	fileNotes  = "notes/todo.txt"
)

var (
	contentBefore = "This file was here before the triggers were connected.\n"
	contentCSV    = "region,revenue\nnorth,1200\nsouth,950\n"
	contentCSV2   = "region,revenue\nnorth,1200\nsouth,950\neast,700\n"
	contentSVG    = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><circle cx="8" cy="8" r="7" fill="teal"/></svg>` + "\n"
	contentNotes  = "- try whiskfeed\n- write an action\n"
)

// demo is the state of one run: what it talks to and what it created.
type demo struct {
	cfg    config
	env    stackEnv
	wsk    *whisk.Client
	s3     *bucketClient
	story  *story
	ns     string
	bucket string
	hooks  bool // the notifications feed is deployed and used
	// hooksStatus is the HTTP status of looking up the notifications feed
	// when it is not deployed.
	hooksStatus int
	since       time.Time // activations older than this are not the demo's

	// created, for the clean-up
	madeBucket, madeAction bool
	triggers, rules        []string

	seenActivations map[string]bool
	seenEvents      map[string]bool
	problems        []string // what went wrong without stopping the demo
}

// run plays the demo and always cleans up what it created.
func run(ctx context.Context, cfg config) error {
	env, err := readStackEnv(cfg.envFile)
	if err != nil {
		return err
	}
	wsk, err := whisk.New(env.APIHost, env.GuestAuth, whisk.WithUserAgent("whiskfeed-demo"))
	if err != nil {
		return fmt.Errorf("connect to OpenWhisk: %w", err)
	}
	suffix, err := randomSuffix(6)
	if err != nil {
		return err
	}
	d := &demo{
		cfg:             cfg,
		env:             env,
		wsk:             wsk,
		s3:              newBucketClient(env),
		story:           &story{out: cfg.out},
		bucket:          "demo-" + suffix,
		seenActivations: map[string]bool{},
		seenEvents:      map[string]bool{},
	}
	begin := time.Now()
	d.intro()
	playErr := d.play(ctx)
	if ctx.Err() != nil {
		d.story.lines("", "Interrupted: removing what the demo created.")
	}
	cleanErr := d.cleanUp(ctx)
	if playErr == nil && cleanErr == nil && len(d.problems) == 0 {
		d.outro(time.Since(begin))
		return nil
	}
	var errs []error
	if playErr != nil {
		errs = append(errs, playErr)
	}
	for _, p := range d.problems {
		errs = append(errs, errors.New(p))
	}
	if cleanErr != nil {
		errs = append(errs, cleanErr)
	}
	return errors.Join(errs...)
}

func (d *demo) intro() {
	out := d.cfg.out
	title := "whiskfeed demo: files changing in an S3 bucket, delivered as events to your code"
	fmt.Fprintf(out, "%s\n%s\n\n", title, strings.Repeat("=", len(title)))
	fmt.Fprintf(out, `In OpenWhisk your code runs as an "action". Events arrive on "triggers", and a
"rule" says: when this trigger fires, run that action. A "feed" is what makes a
trigger fire on events from outside. whiskfeed has two feeds for S3 buckets:

  %-45s lists the bucket on a schedule and
  %-45s reports what was added, modified or deleted
  %-45s is told by the bucket itself the moment
  %-45s a file is written or deleted

You act as the user "guest" of the local OpenWhisk at %s;
the bucket lives in the local S3 store (MinIO) at %s.

`, changesFeed, "", notificationsFeed, "", d.env.APIHost, d.env.S3Endpoint)
}

// play runs the steps up to reading the triggers. It stops at the first
// step that fails; missing events are reported after the READ step.
func (d *demo) play(ctx context.Context) error {
	setup := []struct {
		title string
		run   func(context.Context) ([]string, error)
	}{
		{"Check the local stack (OpenWhisk, S3 and the feeds)", d.checkStack},
		{fmt.Sprintf("Create bucket %s with one file in it, %s", d.bucket, fileBefore), d.createBucket},
		{fmt.Sprintf("Create action %s from %s (it logs every event it receives)", sampleAction, filepath.Join("dist", "sample.zip")), d.createAction},
		{fmt.Sprintf("Connect trigger %s to bucket %s through the changes feed (polling every %s)", polledTrigger, d.bucket, pollEvery), d.connectPolled},
		{fmt.Sprintf("Connect trigger %s to bucket %s through the notifications feed", notifiedTrigger, d.bucket), d.connectNotified},
		{fmt.Sprintf("Create rules: when a trigger fires, run %s", sampleAction), d.createRules},
	}
	for _, s := range setup {
		if err := d.story.step(s.title, func() ([]string, error) { return s.run(ctx) }); err != nil {
			return err
		}
	}

	deadline := time.Now().Add(d.cfg.wait)
	waitErr := d.firstChanges(ctx, deadline)
	if waitErr == nil {
		waitErr = d.secondChanges(ctx, deadline)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	readErr := d.readTriggers(ctx)
	return errors.Join(waitErr, readErr)
}

// checkStack makes sure OpenWhisk and S3 answer, and finds out which feeds
// are deployed. It also removes what an interrupted earlier run left.
func (d *demo) checkStack(ctx context.Context) ([]string, error) {
	ns, err := d.wsk.Namespace(ctx)
	if err != nil {
		return nil, fmt.Errorf("OpenWhisk at %s does not answer as guest (is the stack up? `make up`): %w", d.env.APIHost, err)
	}
	d.ns = ns
	if err := d.s3.ping(ctx); err != nil {
		return nil, fmt.Errorf("S3 at %s does not answer (is the stack up? `make up`): %w", d.env.S3Endpoint, err)
	}
	if _, err := d.wsk.Action(ctx, changesFeed, false); err != nil {
		if feedMissing(err) {
			return nil, fmt.Errorf("the feed %s is not deployed: `make up` deploys manifest.yaml", changesFeed)
		}
		return nil, fmt.Errorf("look up feed %s: %w", changesFeed, err)
	}
	var notes []string
	switch _, err := d.wsk.Action(ctx, notificationsFeed, false); {
	case err == nil:
		d.hooks = true
	case feedMissing(err): // said by the step that would connect it
		d.hooksStatus = whisk.HTTPStatus(err)
	default:
		return nil, fmt.Errorf("look up feed %s: %w", notificationsFeed, err)
	}
	left, err := d.removeLeftovers(ctx)
	if err != nil {
		return notes, err
	}
	if len(left) > 0 {
		notes = append(notes, "Removed what an interrupted earlier demo left behind: "+strings.Join(left, ", ")+".")
	}
	// Activations before this moment belong to earlier runs.
	d.since = time.Now().Add(-time.Second)
	return notes, nil
}

// feedMissing reports whether looking up a feed action failed because it is
// not there: 404, or 403 for a package that does not exist or is private.
func feedMissing(err error) bool {
	s := whisk.HTTPStatus(err)
	return s == http.StatusNotFound || s == http.StatusForbidden
}

// removeLeftovers deletes the demo's triggers and rules left by a run that
// was killed before its clean-up. Entities of the same names that the demo
// did not create are left alone, and stop the demo.
func (d *demo) removeLeftovers(ctx context.Context) ([]string, error) {
	var removed []string
	for _, t := range []string{polledTrigger, notifiedTrigger} {
		r := ruleName(t)
		switch rule, err := d.wsk.Rule(ctx, whisk.QName{Name: r}); {
		case whisk.IsNotFound(err):
		case err != nil:
			return removed, fmt.Errorf("look up rule %s: %w", r, err)
		case rule.Action.Name != sampleAction:
			return removed, fmt.Errorf("a rule named %s already exists in namespace %s and was not made by the demo: delete it (wsk rule delete %s) and run the demo again", r, d.ns, r)
		default:
			if err := d.wsk.DeleteRule(ctx, whisk.QName{Name: r}); err != nil && !whisk.IsNotFound(err) {
				return removed, fmt.Errorf("delete old rule %s: %w", r, err)
			}
			removed = append(removed, "rule "+r)
		}
		switch tr, err := d.wsk.Trigger(ctx, whisk.QName{Name: t}); {
		case whisk.IsNotFound(err):
		case err != nil:
			return removed, fmt.Errorf("look up trigger %s: %w", t, err)
		default:
			if mine, _ := tr.Annotations.LookupBool(demoAnnotation); !mine {
				return removed, fmt.Errorf("a trigger named %s already exists in namespace %s and was not made by the demo: delete it (wsk trigger delete %s) and run the demo again", t, d.ns, t)
			}
			if err := d.wsk.DeleteFeedTrigger(ctx, whisk.QName{Name: t}); err != nil && !whisk.IsNotFound(err) {
				return removed, fmt.Errorf("delete old trigger %s: %w", t, err)
			}
			removed = append(removed, "trigger "+t)
		}
	}
	return removed, nil
}

func (d *demo) createBucket(ctx context.Context) ([]string, error) {
	if err := d.s3.createBucket(ctx, d.bucket); err != nil {
		return nil, err
	}
	d.madeBucket = true
	if err := d.s3.put(ctx, d.bucket, fileBefore, contentBefore); err != nil {
		return nil, err
	}
	return nil, nil
}

func (d *demo) createAction(ctx context.Context) ([]string, error) {
	path := filepath.Join(d.cfg.distDir, "sample.zip")
	zip, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the sample action: %w (`make build` or `make up` packs it)", err)
	}
	_, err = d.wsk.PutAction(ctx, whisk.QName{Name: sampleAction}, whisk.Action{
		Exec:        &whisk.Exec{Kind: sampleKind, Code: base64.StdEncoding.EncodeToString(zip), Binary: true},
		Annotations: whisk.KeyValues{{Key: "description", Value: "whiskfeed demo: logs each S3 event it receives"}},
	}, whisk.Overwrite)
	if err != nil {
		return nil, fmt.Errorf("create action %s: %w", sampleAction, err)
	}
	d.madeAction = true
	return nil, nil
}

// feedParams are the parameters both feeds need to reach the bucket. The
// secret key goes to the feed only; it is never stored on the trigger.
func (d *demo) feedParams() map[string]any {
	return map[string]any{
		"bucket":               d.bucket,
		"s3_endpoint":          d.env.S3Endpoint,
		"s3_region":            d.env.S3Region,
		"s3_access_key_id":     d.env.S3AccessKeyID,
		"s3_secret_access_key": d.env.S3SecretKey,
		"s3_path_style":        true,
	}
}

func (d *demo) connectPolled(ctx context.Context) ([]string, error) {
	p := d.feedParams()
	p["cron"] = pollCron
	return d.connect(ctx, polledTrigger, changesFeed, p)
}

func (d *demo) connectNotified(ctx context.Context) ([]string, error) {
	if !d.hooks {
		return nil, &skipError{reason: fmt.Sprintf("The feed %s is not deployed on this stack\n(OpenWhisk answered %d for it), so only the polling half of the demo runs.", notificationsFeed, d.hooksStatus)}
	}
	return d.connect(ctx, notifiedTrigger, notificationsFeed, d.feedParams())
}

// connect creates a trigger with its feed, as `wsk trigger create T --feed F
// -p ...` does.
func (d *demo) connect(ctx context.Context, trigger string, feed whisk.QName, params map[string]any) ([]string, error) {
	_, err := d.wsk.CreateFeedTrigger(ctx, whisk.QName{Name: trigger}, feed, params,
		whisk.KeyValue{Key: demoAnnotation, Value: true})
	if err != nil {
		return nil, err // CreateFeedTrigger removed the trigger again
	}
	d.triggers = append(d.triggers, trigger)
	return nil, nil
}

func (d *demo) createRules(ctx context.Context) ([]string, error) {
	var notes []string
	for _, t := range d.triggers {
		r := ruleName(t)
		if _, err := d.wsk.PutRule(ctx, whisk.QName{Name: r}, whisk.QName{Name: t}, whisk.QName{Name: sampleAction}, whisk.CreateOnly); err != nil {
			return notes, fmt.Errorf("create rule %s: %w", r, err)
		}
		d.rules = append(d.rules, r)
		notes = append(notes, fmt.Sprintf("%s: %s -> %s", r, t, sampleAction))
	}
	return notes, nil
}

// firstChanges uploads three files and waits for their events.
func (d *demo) firstChanges(ctx context.Context, deadline time.Time) error {
	files := []struct{ key, body string }{{fileCSV, contentCSV}, {fileSVG, contentSVG}, {fileNotes, contentNotes}}
	var exp expectations
	var changedAt time.Time
	err := d.story.step(fmt.Sprintf("Upload %d files to %s", len(files), d.bucket), func() ([]string, error) {
		changedAt = time.Now()
		var notes []string
		for _, f := range files {
			if err := d.s3.put(ctx, d.bucket, f.key, f.body); err != nil {
				return notes, err
			}
			notes = append(notes, fmt.Sprintf("put %s (%s)", f.key, formatSize(int64(len(f.body)))))
			exp.expect(expected{sourcePoll, "added", f.key})
			if d.hooks {
				exp.expect(expected{sourceNotification, "added", f.key})
			}
		}
		return notes, nil
	})
	if err != nil {
		return err
	}
	first, err := d.await(ctx, &exp, changedAt, deadline)
	if err != nil {
		return err
	}
	d.story.lines(fmt.Sprintf("%s, which was in the bucket before the triggers, was not announced.", fileBefore), "")
	d.showActivation(ctx, first)
	return nil
}

// showActivation prints the log and the result of one activation of the
// sample action, as `wsk activation logs` and `wsk activation result` do.
func (d *demo) showActivation(ctx context.Context, id string) {
	if id == "" {
		return
	}
	act, err := d.wsk.Activation(ctx, id)
	if err != nil {
		d.story.lines(fmt.Sprintf("(could not read activation %s: %v)", id, err), "")
		return
	}
	d.story.lines(fmt.Sprintf("Each firing ran the sample action once. Its first run, activation %s,", id),
		fmt.Sprintf("logged (wsk activation logs %s):", id))
	for _, l := range act.Logs {
		d.story.lines("  " + d.env.redact(l))
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, act.Response.Result, "  ", "  "); err != nil {
		buf.Reset()
		buf.Write(act.Response.Result)
	}
	d.story.lines(fmt.Sprintf("and returned (wsk activation result %s):", id), "  "+d.env.redact(buf.String()), "")
}

// secondChanges overwrites one file and deletes another, and waits for
// their events.
func (d *demo) secondChanges(ctx context.Context, deadline time.Time) error {
	var exp expectations
	var changedAt time.Time
	err := d.story.step(fmt.Sprintf("Overwrite %s and delete %s", fileCSV, fileNotes), func() ([]string, error) {
		changedAt = time.Now()
		if err := d.s3.put(ctx, d.bucket, fileCSV, contentCSV2); err != nil {
			return nil, err
		}
		if err := d.s3.delete(ctx, d.bucket, fileNotes); err != nil {
			return nil, err
		}
		exp.expect(expected{sourcePoll, "modified", fileCSV}, expected{sourcePoll, "deleted", fileNotes})
		if d.hooks {
			// A bucket notification does not know what the object was
			// before: an overwrite is a new object, "added".
			exp.expect(expected{sourceNotification, "added", fileCSV}, expected{sourceNotification, "deleted", fileNotes})
		}
		return []string{
			fmt.Sprintf("put %s (%s), replacing the first version", fileCSV, formatSize(int64(len(contentCSV2)))),
			"deleted " + fileNotes,
		}, nil
	})
	if err != nil {
		return err
	}
	if _, err := d.await(ctx, &exp, changedAt, deadline); err != nil {
		return err
	}
	d.story.lines("")
	return nil
}

// errMissingEvents is wrapped by the error of a wait that ended before
// every expected event arrived.
var errMissingEvents = errors.New("expected events did not arrive")

// await prints the events the sample action receives until every expected
// one arrived or the deadline passed. It returns the activation that
// brought the first event.
func (d *demo) await(ctx context.Context, exp *expectations, changedAt, deadline time.Time) (string, error) {
	first := ""
	d.story.lines(fmt.Sprintf("Events as the sample action receives them (time since the change; at most %s left):",
		formatSeconds(time.Until(deadline))))
	for {
		got, err := d.arrivals(ctx)
		if err != nil {
			return first, err
		}
		for _, a := range got {
			if first == "" {
				first = a.activationID
			}
			line := formatEvent(a.at.Sub(changedAt), a.event)
			if !exp.take(a.event) {
				line += "   <- not expected"
				d.problems = append(d.problems, fmt.Sprintf("unexpected event: %s %s via %s", a.event.Status, a.event.Key, sourceLabel(a.event.Source)))
			}
			d.story.lines("  " + line)
		}
		if exp.done() {
			return first, nil
		}
		if !time.Now().Before(deadline) {
			d.story.lines(fmt.Sprintf("Waited %s; still missing:", formatSeconds(d.cfg.wait)))
			for _, m := range exp.missing() {
				d.story.lines("  " + m)
			}
			return first, fmt.Errorf("%w within %s: %s", errMissingEvents, d.cfg.wait, strings.Join(exp.missing(), "; "))
		}
		select {
		case <-ctx.Done():
			return first, ctx.Err()
		case <-time.After(watchInterval):
		}
	}
}

// arrival is an event seen in an activation of the sample action.
type arrival struct {
	event        event
	at           time.Time // when the sample action started
	activationID string
}

// arrivals returns the events of the bucket that the sample action
// received since the last call, oldest first. Failed activations are
// reported as problems.
func (d *demo) arrivals(ctx context.Context) ([]arrival, error) {
	acts, err := d.wsk.Activations(ctx, whisk.ActivationQuery{
		ListOptions: whisk.ListOptions{Limit: 200},
		Name:        sampleAction,
		Since:       d.since,
		Docs:        true,
	})
	if err != nil {
		return nil, fmt.Errorf("list the activations of %s: %w", sampleAction, err)
	}
	sort.SliceStable(acts, func(i, j int) bool { return acts[i].Start < acts[j].Start })
	var out []arrival
	for _, a := range acts {
		if d.seenActivations[a.ActivationID] {
			continue
		}
		d.seenActivations[a.ActivationID] = true
		if !a.Response.Success {
			msg := fmt.Sprintf("the sample action failed in activation %s: %s %s", a.ActivationID, a.Response.Status, a.Response.Result)
			d.problems = append(d.problems, msg)
			d.story.lines("  " + msg)
			continue
		}
		events, err := decodeSampleResult(a.Response.Result)
		if err != nil {
			d.problems = append(d.problems, fmt.Sprintf("activation %s: %v", a.ActivationID, err))
			continue
		}
		for _, e := range events {
			if e.Bucket != d.bucket || d.seenEvents[e.id()] {
				continue
			}
			d.seenEvents[e.id()] = true
			out = append(out, arrival{event: e, at: time.UnixMilli(a.Start), activationID: a.ActivationID})
		}
	}
	return out, nil
}

// readTriggers prints what each feed says about its trigger (READ), as
// `wsk trigger get` does.
func (d *demo) readTriggers(ctx context.Context) error {
	var errs []error
	for _, t := range d.triggers {
		var shown string
		err := d.story.step(fmt.Sprintf("Ask the feed about trigger %s (what `wsk trigger get %s` shows)", t, t), func() ([]string, error) {
			act, err := d.wsk.ReadFeed(ctx, whisk.QName{Name: t})
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, act.Response.Result, "", "  "); err != nil {
				return nil, fmt.Errorf("read feed of trigger %s: result is not JSON: %w", t, err)
			}
			shown = buf.String()
			if d.env.leaks(shown) {
				d.problems = append(d.problems, fmt.Sprintf("the READ answer of trigger %s contains a secret (shown as ***)", t))
				shown = d.env.redact(shown)
			}
			return nil, nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("read trigger %s: %w", t, err))
			continue
		}
		d.story.lines(shown, "")
	}
	return errors.Join(errs...)
}

// cleanUp removes everything the demo created, even after a failure or an
// interrupt, within cleanUpTimeout.
func (d *demo) cleanUp(ctx context.Context) error {
	if !d.madeBucket && !d.madeAction && len(d.triggers) == 0 && len(d.rules) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanUpTimeout)
	defer cancel()
	var errs []error
	_ = d.story.step("Clean up: delete the rules, the triggers (each feed forgets its trigger), the action and the bucket", func() ([]string, error) {
		var notes []string
		for _, r := range slices.Backward(d.rules) {
			if err := d.wsk.DeleteRule(ctx, whisk.QName{Name: r}); err != nil && !whisk.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete rule %s: %w", r, err))
			}
		}
		for _, t := range d.triggers {
			// As `wsk trigger delete`: the feed's DELETE first (it stops the
			// polling or removes the bucket notification), then the trigger.
			// Unlike wsk, a failing DELETE is reported.
			feed := changesFeed
			if t == notifiedTrigger {
				feed = notificationsFeed
			}
			if _, err := d.wsk.InvokeFeed(ctx, feed, whisk.FeedDelete, whisk.QName{Name: t}, nil); err != nil {
				errs = append(errs, fmt.Errorf("feed DELETE of trigger %s: %s", t, explain(err)))
			}
			if err := d.wsk.DeleteTrigger(ctx, whisk.QName{Name: t}); err != nil && !whisk.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete trigger %s: %w", t, err))
			}
		}
		if d.madeAction {
			if err := d.wsk.DeleteAction(ctx, whisk.QName{Name: sampleAction}); err != nil && !whisk.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete action %s: %w", sampleAction, err))
			}
		}
		if d.madeBucket {
			if err := d.s3.removeBucket(ctx, d.bucket); err != nil {
				errs = append(errs, err)
			}
		}
		for _, err := range errs {
			notes = append(notes, explain(err))
		}
		if len(errs) > 0 {
			return notes, errors.New("clean-up incomplete")
		}
		return notes, nil
	})
	if len(errs) > 0 {
		return fmt.Errorf("clean up: %w", errors.Join(errs...))
	}
	return nil
}

func (d *demo) outro(took time.Duration) {
	s := d.story
	s.section(fmt.Sprintf("What you just saw (in %s)", formatSeconds(took)))
	fmt.Fprintf(s.out, `  * Creating a trigger with a feed invoked the feed action
    (%s), which checked the parameters and the
    bucket, and remembered the trigger. A rule sent every firing of the
    trigger to the sample action.
  * Polling reports each change at the next poll (every %s here; give
    "interval" in minutes, or "cron", in real use). It compares listings, so
    it can tell "modified" from "added", and the file that was already there
    was not announced.
`, changesFeed, pollEvery)
	if d.hooks {
		fmt.Fprint(s.out, `  * Bucket notifications arrive a moment after the change, pushed by the
    store; an overwrite is reported as "added" again, since the store does not
    say what was there before.
`)
	} else {
		fmt.Fprintf(s.out, `  * The notifications feed (%s)
    is not deployed on this stack, so that half of the demo was skipped.
`, notificationsFeed)
	}
	fmt.Fprint(s.out, `  * Every event carries an "event_id": the same change seen twice has the same
    id, so an action can drop duplicates.
  * Reading a trigger asks its feed (lifecycle event READ): status, settings
    and statistics, and never the secrets it was given.
  * Deleting a trigger tells its feed (lifecycle event DELETE): the polling
    stops, the bucket notification is removed.
`)
	s.section("Try it yourself")
	fmt.Fprint(s.out, `  make up                                   # if the stack is not up (make demo stopped it)
  set -a; . .whiskfeed/stack.env; set +a    # WHISK_APIHOST, WHISK_AUTH_GUEST, S3_* ...
  wsk property set --apihost "$WHISK_APIHOST" --auth "$WHISK_AUTH_GUEST"
  wsk action create sample dist/sample.zip --kind go:1.24
  wsk trigger create uploads --feed /whisk.system/s3-trigger-feed/changes \
      -p bucket <your bucket> -p s3_endpoint "$S3_ENDPOINT" -p interval 1 \
      -p s3_access_key_id "$S3_ACCESS_KEY_ID" -p s3_secret_access_key "$S3_SECRET_ACCESS_KEY"
  wsk rule create uploads-to-sample uploads sample
  wsk trigger get uploads                   # the feed's view: status and statistics
  wsk activation list sample                # then: wsk activation logs <id>
  wsk trigger delete uploads
  make down
`)
}

// randomSuffix returns n random lowercase letters and digits.
func randomSuffix(n int) (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("choose a bucket name: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}
