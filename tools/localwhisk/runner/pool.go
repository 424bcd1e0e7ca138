package runner

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Defaults of the pool options.
const (
	DefaultMaxPerAction = 2
	DefaultIdleTimeout  = 5 * time.Minute
)

var errClosed = errors.New("runner is closed")

// Option configures a Pool.
type Option func(*Pool)

// WithMaxPerAction sets how many processes one action version (Spec.Key) may
// have at once; each serves one activation at a time. Values below 1 mean 1.
func WithMaxPerAction(n int) Option {
	return func(p *Pool) { p.max = max(n, 1) }
}

// WithIdleTimeout sets how long an unused process is kept warm. An action
// version whose processes are all gone is forgotten (and its unpacked files
// removed) after the same time. Values of zero or less keep the default.
func WithIdleTimeout(d time.Duration) Option {
	return func(p *Pool) {
		if d > 0 {
			p.idle = d
		}
	}
}

// WithLogger sets the logger for process life-cycle events. Parameters,
// environment values and API keys are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(p *Pool) {
		if l != nil {
			p.log = l
		}
	}
}

// Pool runs activations of native actions in local processes speaking the
// actionloop protocol, keeping warm processes per action version. It is safe
// for concurrent use. Close it to end every process it started.
type Pool struct {
	dir     string
	tempDir bool
	max     int
	idle    time.Duration
	log     *slog.Logger

	done chan struct{} // closed by Close
	wg   sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	actions map[string]*action
}

// action is one action version: its unpacked code and its processes.
type action struct {
	key      string
	dir      string
	ready    chan struct{} // closed once unpacking ended; then u and err are set
	u        unpacked
	err      error
	procs    []*proc
	waiters  list.List // of *waiter: Runs waiting for a process, in arrival order
	users    int       // Runs currently using the entry
	lastUsed time.Time
}

// waiter is one Run queued for a process of its action. Once handed a process
// (or a new slot, fresh) it is out of the queue and ready is closed.
type waiter struct {
	ns    string
	elem  *list.Element // its place in the queue while it waits
	ready chan struct{}
	pr    *proc
	fresh bool
}

// New returns a pool that unpacks action code under dir, one subdirectory per
// action version. An empty dir means a fresh temporary directory, removed by
// Close. The pool starts one goroutine that retires idle processes.
func New(dir string, opts ...Option) *Pool {
	p := &Pool{
		dir:     dir,
		max:     DefaultMaxPerAction,
		idle:    DefaultIdleTimeout,
		log:     slog.New(slog.DiscardHandler),
		done:    make(chan struct{}),
		actions: map[string]*action{},
	}
	for _, o := range opts {
		o(p)
	}
	if p.dir == "" {
		p.tempDir = true
	} else if abs, err := filepath.Abs(p.dir); err == nil {
		p.dir = abs
	}
	p.wg.Add(1)
	go p.reap()
	return p
}

// Run performs one activation and blocks until it is done. A cold start (no
// free warm process) starts a new process and sets Result.InitTime. Failures
// are reported in the Result, never as a panic. Cancelling ctx aborts the
// activation: a process already working on it is killed.
func (p *Pool) Run(ctx context.Context, spec Spec, act Activation) (res Result) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return failure(InternalError, msgRunnerClosed)
	}
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("runner panic", "key", spec.Key, "activation_id", act.ActivationID, "panic", fmt.Sprint(r))
			res = failure(InternalError, "The action runner failed unexpectedly.")
		}
	}()

	if spec.Key == "" {
		return failure(InternalError, "The action cannot run: Spec.Key is empty.")
	}
	if spec.Timeout <= 0 {
		spec.Timeout = DefaultTimeout
	}
	if spec.LogMax <= 0 {
		spec.LogMax = DefaultLogMax
	}

	a, err := p.prepare(ctx, spec)
	if err != nil {
		return p.prepareFailure(err, spec, act)
	}
	defer p.leave(a)

	pr, fresh, err := p.acquire(ctx, a, act.Namespace)
	if err != nil {
		if errors.Is(err, errClosed) {
			return failure(InternalError, msgRunnerClosed)
		}
		return failure(InternalError, msgActivationStop+": "+err.Error()+".")
	}

	var initStart time.Time
	var initTime time.Duration
	if fresh {
		initStart = time.Now()
		if r := p.coldStart(ctx, pr, a, spec, act); r != nil {
			r.Start, r.End = initStart, time.Now()
			r.InitTime = r.End.Sub(initStart)
			p.discard(a, pr)
			return *r
		}
		initTime = time.Since(initStart)
	}

	res, keep := pr.run(ctx, spec, act, p.done)
	if fresh {
		// The platform counts the initialisation in the activation's interval.
		res.Start, res.InitTime = initStart, initTime
	}
	if keep {
		p.release(a, pr)
	} else {
		p.log.Debug("retiring process", "key", a.key, "pid", pr.pid, "activation_id", act.ActivationID, "status", string(res.Status))
		p.discard(a, pr)
	}
	return res
}

func failure(status Status, msg string) Result {
	now := time.Now()
	return Result{Status: status, Response: errorResponse(msg), Logs: []string{}, Start: now, End: now}
}

func (p *Pool) prepareFailure(err error, spec Spec, act Activation) Result {
	var ce *codeError
	switch {
	case errors.As(err, &ce):
		r := failure(DeveloperError, ce.msg)
		r.Logs = []string{formatLog(r.Start, "stderr", ce.msg), formatLog(r.Start, "stderr", msgDevErrorLogs)}
		return r
	case errors.Is(err, errClosed):
		return failure(InternalError, msgRunnerClosed)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return failure(InternalError, msgActivationStop+": "+err.Error()+".")
	default:
		p.log.Error("prepare action", "key", spec.Key, "activation_id", act.ActivationID, "error", err)
		return failure(InternalError, "The action could not be prepared: "+err.Error())
	}
}

// prepare returns the entry of spec.Key, unpacking its code on first use.
func (p *Pool) prepare(ctx context.Context, spec Spec) (*action, error) {
	p.mu.Lock()
	a := p.actions[spec.Key]
	owner := a == nil
	if owner {
		a = &action{key: spec.Key, ready: make(chan struct{})}
		p.actions[spec.Key] = a
	}
	a.users++
	a.lastUsed = time.Now()
	p.mu.Unlock()

	if owner {
		u, err := p.unpack(spec)
		p.mu.Lock()
		a.u, a.err = u, err
		if err != nil && !errors.As(err, new(*codeError)) && p.actions[spec.Key] == a {
			// A platform failure is not cached: the next Run tries again.
			delete(p.actions, spec.Key)
		}
		p.mu.Unlock()
		close(a.ready)
	} else {
		select {
		case <-a.ready:
		case <-ctx.Done():
			p.leave(a)
			return nil, ctx.Err()
		case <-p.done:
			p.leave(a)
			return nil, errClosed
		}
	}
	if a.err != nil {
		p.leave(a)
		return nil, a.err
	}
	return a, nil
}

func (p *Pool) leave(a *action) {
	p.mu.Lock()
	a.users--
	a.lastUsed = time.Now()
	p.mu.Unlock()
}

func (p *Pool) unpack(spec Spec) (unpacked, error) {
	base, err := p.baseDir()
	if err != nil {
		return unpacked{}, err
	}
	sum := sha256.Sum256([]byte(spec.Key))
	target := filepath.Join(base, hex.EncodeToString(sum[:12]))
	tmp, err := os.MkdirTemp(base, ".unpack-")
	if err != nil {
		return unpacked{}, fmt.Errorf("create unpack directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	u, err := unpack(spec.Code, filepath.Join(tmp, "a"), spec.Kind)
	if err != nil {
		return unpacked{}, err
	}
	if err := os.RemoveAll(target); err != nil {
		return unpacked{}, fmt.Errorf("remove stale action directory: %w", err)
	}
	if err := os.Rename(filepath.Join(tmp, "a"), target); err != nil {
		return unpacked{}, fmt.Errorf("move action directory: %w", err)
	}
	u.dir = target
	p.log.Debug("unpacked action", "key", spec.Key, "dir", target)
	return u, nil
}

// baseDir returns the directory holding the unpacked actions, creating it.
func (p *Pool) baseDir() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tempDir && p.dir == "" {
		d, err := os.MkdirTemp("", "localwhisk-runner-")
		if err != nil {
			return "", fmt.Errorf("create runner directory: %w", err)
		}
		p.dir = d
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return "", fmt.Errorf("create runner directory: %w", err)
	}
	return p.dir, nil
}

// acquire returns a process for one activation of a in namespace ns: a free
// warm process started for the same namespace (as the invoker reuses
// containers only within one namespace), or a new slot to start (fresh).
// When all slots are busy the Run queues behind earlier ones and is handed
// exactly one process or slot when its turn comes, honouring ctx meanwhile.
func (p *Pool) acquire(ctx context.Context, a *action, ns string) (pr *proc, fresh bool, err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, errClosed
	}
	var victims []*proc
	if a.waiters.Len() == 0 {
		pr, fresh, victims = p.takeLocked(a, ns)
		if pr != nil {
			p.mu.Unlock()
			p.destroyAll(victims)
			return pr, fresh, nil
		}
	}
	w := &waiter{ns: ns, ready: make(chan struct{})}
	w.elem = a.waiters.PushBack(w)
	victims = append(victims, p.dispatchLocked(a)...)
	p.mu.Unlock()
	p.destroyAll(victims)

	select {
	case <-w.ready:
		if err = ctx.Err(); err == nil {
			return w.pr, w.fresh, nil
		}
	case <-ctx.Done():
		err = ctx.Err()
	case <-p.done:
		err = errClosed
	}
	p.abandon(a, w)
	return nil, false, err
}

// takeLocked claims a process for one activation in namespace ns, as acquire
// describes, or returns nil when every slot is busy. victims are processes
// taken out of the pool that must be destroyed once the lock is released.
func (p *Pool) takeLocked(a *action, ns string) (pr *proc, fresh bool, victims []*proc) {
	var other *proc
	for _, c := range a.procs {
		if c.state != stateIdle {
			continue
		}
		if c.hasExited() {
			victims = append(victims, c)
			continue
		}
		if c.ns == ns {
			pr = c
			break
		}
		if other == nil {
			other = c
		}
	}
	for _, v := range victims {
		a.procs = slices.DeleteFunc(a.procs, func(c *proc) bool { return c == v })
	}
	switch {
	case pr != nil:
		pr.state = stateBusy
		return pr, false, victims
	case len(a.procs) < p.max:
	case other != nil:
		// Every slot is taken but one idles for another namespace: replace it.
		a.procs = slices.DeleteFunc(a.procs, func(c *proc) bool { return c == other })
		victims = append(victims, other)
	default:
		return nil, false, victims
	}
	pr = newProc(a.key, ns)
	a.procs = append(a.procs, pr)
	return pr, true, victims
}

// dispatchLocked hands free processes and slots to the queued Runs of a in
// arrival order, each to exactly one Run, until none is left. It returns the
// processes to destroy once the lock is released.
func (p *Pool) dispatchLocked(a *action) (victims []*proc) {
	if p.closed {
		return nil
	}
	for e := a.waiters.Front(); e != nil; e = a.waiters.Front() {
		w := e.Value.(*waiter)
		pr, fresh, v := p.takeLocked(a, w.ns)
		victims = append(victims, v...)
		if pr == nil {
			break
		}
		a.waiters.Remove(e)
		w.elem, w.pr, w.fresh = nil, pr, fresh
		close(w.ready)
	}
	return victims
}

// abandon takes w out of the queue after its Run stopped waiting. A process
// or slot it was handed in the meantime goes to the next Run in the queue.
func (p *Pool) abandon(a *action, w *waiter) {
	var victims []*proc
	p.mu.Lock()
	switch {
	case w.pr == nil:
		a.waiters.Remove(w.elem)
		w.elem = nil
	case w.fresh: // the slot's process was never started
		victims = p.removeLocked(a, w.pr)
	default:
		victims = p.releaseLocked(a, w.pr)
	}
	p.mu.Unlock()
	p.destroyAll(victims)
}

// coldStart starts the process of a fresh slot and waits for its
// acknowledgement. It returns nil when the process is ready.
func (p *Pool) coldStart(ctx context.Context, pr *proc, a *action, spec Spec, act Activation) *Result {
	deadline := act.Deadline
	if deadline.IsZero() {
		deadline = time.Now().Add(spec.Timeout)
	}
	env, err := processEnv(spec, act, a.u.execEnv, deadline)
	if err == nil {
		err = pr.start(&p.wg, a.u, env, spec.LogMax)
	}
	if err != nil {
		var ce *codeError
		msg, note := msgCannotStart, err.Error()
		if errors.As(err, &ce) {
			msg, note = ce.msg, ce.msg
		}
		p.log.Warn("start action process", "key", a.key, "activation_id", act.ActivationID, "error", err)
		r := failure(DeveloperError, msg)
		r.Logs = []string{formatLog(time.Now(), "stderr", note), formatLog(time.Now(), "stderr", msgDevErrorLogs)}
		return &r
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed { // Close may have missed this process while it was starting
		pr.kill()
	}
	p.log.Debug("started action process", "key", a.key, "pid", pr.pid, "activation_id", act.ActivationID)
	if r := pr.awaitAck(ctx, spec, p.done); r != nil {
		if r.Status == DeveloperError {
			p.log.Info("action process failed to start", "key", a.key, "pid", pr.pid, "exit", pr.exitStatus(), "activation_id", act.ActivationID)
		}
		return r
	}
	return nil
}

// removeLocked takes pr out of the pool, if it is still there, and hands the
// freed slot on. It returns the processes to destroy once the lock is released.
func (p *Pool) removeLocked(a *action, pr *proc) (victims []*proc) {
	i := slices.Index(a.procs, pr)
	if i < 0 {
		return nil
	}
	a.procs = slices.Delete(a.procs, i, i+1)
	return p.dispatchLocked(a)
}

// release returns a healthy process to the warm pool, handing it straight to
// the next queued Run of its namespace if there is one.
func (p *Pool) release(a *action, pr *proc) {
	p.mu.Lock()
	victims := p.releaseLocked(a, pr)
	p.mu.Unlock()
	p.destroyAll(victims)
}

// releaseLocked makes pr idle and hands it on. It returns the processes to
// destroy once the lock is released (pr itself when the pool is closed).
func (p *Pool) releaseLocked(a *action, pr *proc) (victims []*proc) {
	if p.closed {
		p.removeLocked(a, pr)
		return []*proc{pr}
	}
	pr.state = stateIdle
	pr.lastUsed = time.Now()
	return p.dispatchLocked(a)
}

// discard ends a process and frees its slot.
func (p *Pool) discard(a *action, pr *proc) {
	p.mu.Lock()
	victims := p.removeLocked(a, pr)
	p.mu.Unlock()
	pr.destroy()
	p.destroyAll(victims)
}

func (p *Pool) destroyAll(procs []*proc) {
	for _, pr := range procs {
		pr.destroy()
	}
}

// reap retires idle processes and forgets unused action versions.
func (p *Pool) reap() {
	defer p.wg.Done()
	tick := time.NewTicker(min(max(p.idle/4, 10*time.Millisecond), 30*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
		var victims []*proc
		var dirs []string
		now := time.Now()
		p.mu.Lock()
		for key, a := range p.actions {
			for _, pr := range slices.Clone(a.procs) {
				if pr.state == stateIdle && (pr.hasExited() || now.Sub(pr.lastUsed) >= p.idle) && slices.Contains(a.procs, pr) {
					victims = append(victims, pr)
					victims = append(victims, p.removeLocked(a, pr)...)
				}
			}
			if len(a.procs) == 0 && a.users == 0 && now.Sub(a.lastUsed) >= p.idle {
				delete(p.actions, key)
				if a.u.dir != "" {
					dirs = append(dirs, a.u.dir)
				}
			}
		}
		p.mu.Unlock()
		for _, pr := range victims {
			p.log.Debug("retiring idle process", "key", pr.key, "pid", pr.pid)
		}
		p.destroyAll(victims)
		for _, d := range dirs {
			if err := os.RemoveAll(d); err != nil {
				p.log.Warn("remove action directory", "dir", d, "error", err)
			}
		}
	}
}

// Close kills every process the pool started, waits until they are reaped
// and every goroutine of the pool has ended, and removes the unpacked code.
// Runs in progress return an internal error. Close is idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	close(p.done)
	var idle, busy []*proc
	var dirs []string
	for _, a := range p.actions {
		for _, pr := range a.procs {
			if pr.state == stateIdle {
				idle = append(idle, pr)
			} else {
				busy = append(busy, pr)
			}
		}
		a.procs = nil
		if a.u.dir != "" {
			dirs = append(dirs, a.u.dir)
		}
	}
	p.actions = map[string]*action{}
	p.mu.Unlock()

	for _, pr := range busy {
		pr.kill() // their Runs see the exit and release them
	}
	p.destroyAll(idle)
	p.wg.Wait()

	var errs []error
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("remove action directory: %w", err))
		}
	}
	if p.tempDir && p.dir != "" {
		if err := os.RemoveAll(p.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove runner directory: %w", err))
		}
	}
	return errors.Join(errs...)
}
