package alarms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/store"
)

// Where the package is installed, as on OpenWhisk.
const (
	Namespace = "whisk.system"
	Package   = "alarms"
)

// The feed actions of the package.
const (
	FeedAlarm    = "alarm"
	FeedOnce     = "once"
	FeedInterval = "interval"
)

// storeCollection is the folder of the data directory holding the records.
const storeCollection = "alarms"

const (
	defaultAPIHost   = "http://127.0.0.1:3233"
	defaultRetryBase = time.Second
	// retryAttempts is how often a failed fire is retried (so 11 attempts).
	retryAttempts = 10
	// requestTimeout bounds every HTTP request the provider makes.
	requestTimeout = 30 * time.Second
)

// Option configures Register.
type Option func(*options)

type options struct {
	apiHost         string
	now             func() time.Time
	log             *slog.Logger
	dataDir         string
	retryBase       time.Duration
	delayLimit      int
	limitCronFields bool
}

// WithAPIHost sets where triggers are fired and checked: the server's own
// URL, e.g. http://127.0.0.1:3233 (the default). It is also bound as the
// package parameter apihost, as upstream does.
func WithAPIHost(u string) Option { return func(o *options) { o.apiHost = u } }

// WithClock sets the clock used for validation ("must be in the future"),
// schedules and status dates (default time.Now). The scheduler still sleeps
// in real time for the difference between a due time and the clock.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithLogger sets the logger (default slog.Default()). Auth keys are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithDataDir keeps the records as JSON files below dir/alarms so that they
// survive restarts; dir may be the server's own data directory. Without it
// records live in memory.
func WithDataDir(dir string) Option { return func(o *options) { o.dataDir = dir } }

// WithRetryBase sets the unit of the delay between fire retries (default 1 s,
// upstream's): each retry waits max(base, base × n²), n being the number of
// 429 answers so far.
func WithRetryBase(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.retryBase = d
		}
	}
}

// WithDelayLimit makes five-field cron alarms that are not strict fire at a
// seconds offset in [0, seconds] derived from the trigger name, as upstream's
// ALARM_DELAY_LIMIT does to spread fires (default 0: no offset). Values
// outside [0, 59] are ignored.
func WithDelayLimit(seconds int) Option {
	return func(o *options) {
		if seconds >= 0 && seconds < 60 {
			o.delayLimit = seconds
		}
	}
}

// WithLimitCronFields rejects six-field cron patterns whose seconds field is
// not "0", as upstream's limitCronFields setting does.
func WithLimitCronFields() Option { return func(o *options) { o.limitCronFields = true } }

// Provider serves the alarms feeds and fires their triggers. It is safe for
// concurrent use. Close stops it.
type Provider struct {
	opts options
	log  *slog.Logger
	disk *store.Dir // nil: memory only
	http *http.Client

	mu      sync.Mutex
	entries map[string]*entry // by record id
	gen     uint64
	wake    chan struct{}

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Register installs /whisk.system/alarms on srv (the public package alarms
// with the feed actions alarm, once and interval, each annotated feed: true
// and served in process), loads the records of WithDataDir, and starts the
// scheduler. Call it once per server, before serving requests; call Close
// before closing the server.
func Register(srv *server.Server, opts ...Option) (*Provider, error) {
	if srv == nil {
		return nil, fmt.Errorf("register alarms: %w", ErrNoServer)
	}
	o := options{apiHost: defaultAPIHost, now: time.Now, log: slog.Default(), retryBase: defaultRetryBase}
	for _, opt := range opts {
		opt(&o)
	}
	if u, err := url.Parse(o.apiHost); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("register alarms: api host %q: expected a URL such as http://127.0.0.1:3233", o.apiHost)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	p := &Provider{
		opts:    o,
		log:     o.log.With("component", "alarms"),
		http:    &http.Client{Transport: transport},
		entries: map[string]*entry{},
		wake:    make(chan struct{}, 1),
	}
	if o.dataDir != "" {
		d, err := store.Open(o.dataDir)
		if err != nil {
			return nil, fmt.Errorf("register alarms: %w", err)
		}
		p.disk = d
		if err := p.load(context.Background()); err != nil {
			return nil, fmt.Errorf("register alarms: %w", err)
		}
	}
	// The description and parameters annotations are what `wsk package get
	// /whisk.system/alarms --summary` and `wsk action get … --summary` show;
	// the parameter names and required flags are upstream's.
	feeds := []struct {
		name        string
		description string
		params      []any
		extra       []server.BuiltinOption
	}{
		{FeedAlarm, "Fires the trigger on a cron schedule.",
			annotatedParams("cron", "timezone", "startDate", "stopDate", "strict"), nil},
		{FeedOnce, "Fires the trigger once, at a given date.",
			annotatedParams("date", "deleteAfterFire"),
			[]server.BuiltinOption{server.WithParameter("fireOnce", true)}},
		{FeedInterval, "Fires the trigger every given number of minutes.",
			annotatedParams("minutes", "startDate", "stopDate"),
			[]server.BuiltinOption{server.WithParameter("isInterval", true)}},
	}
	for _, f := range feeds {
		bo := append([]server.BuiltinOption{
			server.WithPublicPackage(),
			server.WithPackageParameter("apihost", o.apiHost),
			server.WithPackageParameter("trigger_payload", ""),
			server.WithPackageAnnotation("description", "Triggers fired on a schedule: cron, once or every N minutes."),
			server.WithPackageAnnotation("parameters", []any{map[string]any{"name": "trigger_payload", "required": false}}),
			server.WithAnnotation("feed", true),
			server.WithAnnotation("description", f.description),
			server.WithAnnotation("parameters", f.params),
		}, f.extra...)
		if err := srv.RegisterBuiltin(Namespace, Package, f.name, p.feed, bo...); err != nil {
			return nil, fmt.Errorf("register alarms: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	pending := make([]string, 0, len(p.entries))
	for id := range p.entries {
		pending = append(pending, id)
	}
	sort.Strings(pending)
	p.wg.Add(2)
	go p.loop(ctx)
	go p.initRecords(ctx, pending)
	return p, nil
}

// Close stops the scheduler, cancels fires in flight and waits for them.
// Lifecycle requests still answer afterwards, but nothing fires.
func (p *Provider) Close() error {
	p.closeOnce.Do(func() {
		p.cancel()
		p.wg.Wait()
		p.http.CloseIdleConnections()
	})
	return nil
}

// Snapshot returns what READ would answer for every record, ordered by
// namespace and trigger name. It is meant for diagnostics and tests.
func (p *Provider) Snapshot() []ReadResult {
	p.mu.Lock()
	out := make([]ReadResult, 0, len(p.entries))
	for _, e := range p.entries {
		out = append(out, e.rec.read())
	}
	p.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Config, out[j].Config
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out
}

func (p *Provider) now() time.Time { return p.opts.now() }

// notify wakes the scheduler after a change of the schedule.
func (p *Provider) notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// fileID names a record's file without revealing its auth key.
func fileID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func (p *Provider) load(ctx context.Context) error {
	docs, err := p.disk.All(ctx, storeCollection)
	if err != nil {
		return fmt.Errorf("load alarms: %w", err)
	}
	for file, b := range docs {
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("load alarm %s: %w", file, err)
		}
		if r.ID == "" || r.ID != recordID(r.AuthKey, r.Namespace, r.Name) || len(r.Payload) == 0 {
			return fmt.Errorf("load alarm %s: incomplete record", file)
		}
		p.gen++
		p.entries[r.ID] = &entry{rec: &r, gen: p.gen}
	}
	return nil
}

// saveLocked writes r to the data directory, if any. Callers hold mu, which
// serialises writes.
func (p *Provider) saveLocked(ctx context.Context, r *record) error {
	if p.disk == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("save alarm %s: %w", r.trigger(), err)
	}
	if err := p.disk.Put(ctx, storeCollection, fileID(r.ID), b); err != nil {
		return fmt.Errorf("save alarm %s: %w", r.trigger(), err)
	}
	return nil
}

// removeLocked deletes r from the data directory, if any. Callers hold mu.
func (p *Provider) removeLocked(ctx context.Context, r *record) error {
	if p.disk == nil {
		return nil
	}
	if err := p.disk.Delete(ctx, storeCollection, fileID(r.ID)); err != nil {
		return fmt.Errorf("remove alarm %s: %w", r.trigger(), err)
	}
	return nil
}

// commitLocked stores r (new or changed by CREATE or UPDATE) and schedules
// it. A record that cannot be scheduled is stored disabled, with upstream's
// message. Callers hold mu.
func (p *Provider) commitLocked(ctx context.Context, r *record) error {
	now := p.now()
	e := &entry{rec: r}
	if r.Status.Active {
		if err := e.plan(now, p.opts.delayLimit); err != nil {
			r.Status = disabledStatus(now, 0, "Automatically disabled after receiving error on trigger creation: "+err.Error())
		}
	}
	if err := p.saveLocked(ctx, r); err != nil {
		return err
	}
	p.gen++
	if old := p.entries[r.ID]; old != nil {
		old.rec, old.gen, old.sched, old.loc, old.next = r, p.gen, e.sched, e.loc, e.next
	} else {
		e.gen = p.gen
		p.entries[r.ID] = e
	}
	p.notify()
	return nil
}

// disableLocked disables an active record with an AUTO reason. Callers hold mu.
func (p *Provider) disableLocked(ctx context.Context, e *entry, statusCode int, msg string) {
	if !e.rec.Status.Active {
		return
	}
	e.rec.Status = disabledStatus(p.now(), statusCode, msg)
	e.next = time.Time{}
	p.log.Info("alarm disabled", "trigger", e.rec.trigger(), "status_code", statusCode, "reason", msg)
	if err := p.saveLocked(ctx, e.rec); err != nil {
		p.log.Error("alarm not saved", "trigger", e.rec.trigger(), "error", err)
	}
}

// annotatedParams describes feed parameters for the parameters annotation:
// the first is required, the others optional.
func annotatedParams(required string, optional ...string) []any {
	out := []any{map[string]any{"name": required, "required": true}}
	for _, n := range optional {
		out = append(out, map[string]any{"name": n, "required": false})
	}
	return out
}
