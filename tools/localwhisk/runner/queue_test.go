//go:build unix

package runner

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// queueBound bounds how long a test waits for queued Runs to finish; it only
// turns a lost wake-up into a failure instead of a hang.
const queueBound = 2 * time.Minute

// waiting reports how many Runs of key are queued for a process.
func waiting(p *Pool, key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a := p.actions[key]; a != nil {
		return a.waiters.Len()
	}
	return 0
}

// hold takes the warm process of spec for the test, as a Run would, so that
// later Runs have to queue. The caller gives it back with p.release and
// p.leave (or lets the pool close).
func hold(t *testing.T, p *Pool, spec Spec) (*action, *proc) {
	t.Helper()
	a, err := p.prepare(t.Context(), spec)
	require.NoError(t, err)
	pr, fresh, err := p.acquire(t.Context(), a, "guest")
	require.NoError(t, err)
	require.False(t, fresh, "the test needs a warm process to hold")
	return a, pr
}

// awaitAll waits for wg, failing the test when that takes longer than
// queueBound.
func awaitAll(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(queueBound):
		t.Fatalf("queued Runs did not all finish within %s", queueBound)
	}
}

func TestQueueManyRuns(t *testing.T) {
	p := newPool(t, WithMaxPerAction(2))
	spec := testSpec("guest/queue@0.0.1")

	results := make([]Result, 200)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			results[i] = p.Run(t.Context(), spec, testAct(`{"op":"pid"}`))
		})
	}
	awaitAll(t, &wg)

	counts := map[int][]int{} // pid -> the activation counts it reported
	cold := 0
	for _, r := range results {
		m := decode(t, r)
		pid := int(m["pid"].(float64))
		counts[pid] = append(counts[pid], int(m["count"].(float64)))
		if r.InitTime > 0 {
			cold++
		}
	}
	assert.Len(t, counts, 2, "two processes served every Run")
	assert.Equal(t, 2, cold, "the queued Runs were served by warm processes")
	for pid, c := range counts {
		slices.Sort(c)
		want := make([]int, len(c))
		for i := range want {
			want[i] = i + 1
		}
		assert.Equal(t, want, c, "process %d served each activation once", pid)
	}
	assert.Zero(t, waiting(p, spec.Key))
	assert.Zero(t, busy(p))
	assert.Len(t, pids(p), 2)
}

func TestQueueOrder(t *testing.T) {
	p := newPool(t, WithMaxPerAction(1))
	spec := testSpec("guest/order@0.0.1")
	warm := p.Run(t.Context(), spec, testAct(`{"op":"pid"}`))
	pid := pidOf(t, warm)
	a, pr := hold(t, p, spec)

	// Queue the Runs one after the other, then free the process: with one
	// process, the counter it reports shows the order it served them in.
	results := make([]Result, 20)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			results[i] = p.Run(t.Context(), spec, testAct(`{"op":"pid"}`))
		})
		require.Eventually(t, func() bool { return waiting(p, spec.Key) == i+1 }, 10*time.Second, time.Millisecond)
	}
	p.release(a, pr)
	p.leave(a)
	awaitAll(t, &wg)

	for i, r := range results {
		m := decode(t, r)
		assert.Equal(t, float64(pid), m["pid"])
		assert.Equal(t, float64(i+2), m["count"], "Run %d was served in arrival order", i)
		assert.Zero(t, r.InitTime)
	}
}

func TestQueueCancelledWaiter(t *testing.T) {
	tests := []struct {
		name string
		// free gives the held process back while the waiter's ctx is being
		// cancelled; nil leaves it held until the waiter has gone.
		free func(p *Pool, a *action, pr *proc) []*proc
		warm bool // the process survives for the next Run
	}{
		{"cancelled while queued", nil, true},
		{"handed the warm process as it was cancelled", func(p *Pool, a *action, pr *proc) []*proc {
			return p.releaseLocked(a, pr)
		}, true},
		{"handed a new slot as it was cancelled", func(p *Pool, a *action, pr *proc) []*proc {
			return append(p.removeLocked(a, pr), pr)
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, WithMaxPerAction(1))
			spec := testSpec("guest/cancelq@0.0.1")
			pid := pidOf(t, p.Run(t.Context(), spec, testAct(`{"op":"pid"}`)))
			a, pr := hold(t, p, spec)

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan Result)
			go func() { done <- p.Run(ctx, spec, testAct(`{"op":"pid"}`)) }()
			require.Eventually(t, func() bool { return waiting(p, spec.Key) == 1 }, 10*time.Second, time.Millisecond)

			if tc.free == nil {
				cancel()
				r := <-done
				assert.Equal(t, InternalError, r.Status)
				assert.Contains(t, errorOf(t, r), msgActivationStop)
				assert.Zero(t, waiting(p, spec.Key), "the cancelled Run left the queue")
				p.release(a, pr)
			} else {
				// Under the pool's lock the waiter cannot act, so it sees its
				// ctx end and its grant at once, whichever it notices first.
				p.mu.Lock()
				cancel()
				victims := tc.free(p, a, pr)
				p.mu.Unlock()
				p.destroyAll(victims)
				r := <-done
				assert.Equal(t, InternalError, r.Status)
				assert.Contains(t, errorOf(t, r), msgActivationStop)
			}
			p.leave(a)

			assert.Zero(t, busy(p), "no slot is left taken")
			// A leaked slot would make this Run wait for ever: bound it.
			bounded, stop := context.WithTimeout(t.Context(), 30*time.Second)
			defer stop()
			next := p.Run(bounded, spec, testAct(`{"op":"pid"}`))
			if tc.warm {
				assert.Equal(t, pid, pidOf(t, next), "the warm process was given back")
				assert.Zero(t, next.InitTime)
			} else {
				assert.Positive(t, next.InitTime, "the freed slot starts a new process")
				assert.False(t, alive(pid))
			}
			assert.Len(t, pids(p), 1)
			assert.Zero(t, waiting(p, spec.Key))
		})
	}
}

func TestQueueNamespaces(t *testing.T) {
	p := newPool(t, WithMaxPerAction(1))
	spec := testSpec("guest/queuens@0.0.1")
	pid := pidOf(t, p.Run(t.Context(), spec, testAct(`{"op":"pid"}`)))
	a, pr := hold(t, p, spec)

	done := make(chan Result)
	go func() {
		act := testAct(`{"op":"pid"}`)
		act.Namespace = "bob"
		done <- p.Run(t.Context(), spec, act)
	}()
	require.Eventually(t, func() bool { return waiting(p, spec.Key) == 1 }, 10*time.Second, time.Millisecond)
	p.release(a, pr)
	p.leave(a)

	r := <-done
	assert.NotEqual(t, pid, pidOf(t, r), "a queued Run of another namespace does not get the process")
	assert.Positive(t, r.InitTime)
	assert.False(t, alive(pid), "the idle process of the other namespace made room")
}

func TestQueueClose(t *testing.T) {
	p := New(t.TempDir(), WithMaxPerAction(1))
	spec := testSpec("guest/queueclose@0.0.1")

	running := make(chan Result)
	go func() { running <- p.Run(t.Context(), spec, testAct(`{"op":"sleep","sleep_ms":60000}`)) }()
	require.Eventually(t, func() bool { return busy(p) == 1 }, 10*time.Second, time.Millisecond)
	queued := make(chan Result)
	go func() { queued <- p.Run(t.Context(), spec, testAct(`{"op":"pid"}`)) }()
	require.Eventually(t, func() bool { return waiting(p, spec.Key) == 1 }, 10*time.Second, time.Millisecond)

	require.NoError(t, p.Close())
	for _, ch := range []chan Result{running, queued} {
		r := <-ch
		assert.Equal(t, InternalError, r.Status)
		assert.Equal(t, msgRunnerClosed, errorOf(t, r))
	}
}
