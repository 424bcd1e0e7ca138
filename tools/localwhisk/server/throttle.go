package server

import (
	"net/http"
	"sync"
	"time"
)

// throttles implements the controller's per-namespace limits: invocations
// and fires per calendar minute (every attempt counts), and activations in
// flight. Zero limits are unlimited.
type throttles struct {
	def  Limits
	per  map[string]Limits
	mu   sync.Mutex
	rate map[string]*minuteCount // key: kind + namespace
	busy map[string]int          // activations in flight per namespace
	now  func() time.Time
}

type minuteCount struct {
	minute int64
	count  int
}

func newThrottles(def Limits, per map[string]Limits) *throttles {
	return &throttles{def: def, per: per, rate: map[string]*minuteCount{}, busy: map[string]int{}, now: time.Now}
}

func (t *throttles) limits(ns string) Limits {
	if l, ok := t.per[ns]; ok {
		return l
	}
	return t.def
}

func (t *throttles) charge(key string, allowed int) error {
	if allowed <= 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.now().Unix() / 60
	c := t.rate[key]
	if c == nil || c.minute != m {
		c = &minuteCount{minute: m}
		t.rate[key] = c
	}
	c.count++
	if c.count > allowed {
		return newError(http.StatusTooManyRequests, msgTooManyRequests(c.count, allowed))
	}
	return nil
}

// invoke charges one invocation and checks the concurrency limit.
func (t *throttles) invoke(ns string) error {
	l := t.limits(ns)
	if err := t.charge("invoke/"+ns, l.InvocationsPerMinute); err != nil {
		return err
	}
	if l.ConcurrentInvocations > 0 {
		t.mu.Lock()
		n := t.busy[ns]
		t.mu.Unlock()
		if n >= l.ConcurrentInvocations {
			return newError(http.StatusTooManyRequests, msgTooManyConcurrent(n, l.ConcurrentInvocations))
		}
	}
	return nil
}

// fire charges one trigger fire.
func (t *throttles) fire(ns string) error {
	return t.charge("fire/"+ns, t.limits(ns).FiresPerMinute)
}

// started and finished track activations in flight per namespace.
func (t *throttles) started(ns string) {
	t.mu.Lock()
	t.busy[ns]++
	t.mu.Unlock()
}

func (t *throttles) finished(ns string) {
	t.mu.Lock()
	t.busy[ns]--
	if t.busy[ns] <= 0 {
		delete(t.busy, ns)
	}
	t.mu.Unlock()
}
