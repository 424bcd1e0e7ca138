package feed

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// pushPoll is a source pushed and polled: its events are change keys with a
// time (Data is a change).
type pushPoll struct{ polled bool }

type change struct {
	key string
	at  time.Time
}

func (pushPoll) Kind() string                         { return "push-poll" }
func (pushPoll) Configure(p *Params) (any, error)     { return map[string]any{}, nil }
func (pushPoll) Poll(context.Context, *Session) error { return nil }
func (pushPoll) Target(*Trigger) string               { return "target" }
func (pushPoll) Sync(context.Context, string, *Trigger, []*Trigger, Destination) error {
	return nil
}
func (pushPoll) Receive(context.Context, *runtime.WebRequest) (string, []Event, error) {
	return "", nil, nil
}
func (s pushPoll) PollSchedule(*Trigger) (Schedule, bool) { return Schedule{Interval: 5}, s.polled }
func (pushPoll) Dedup(e Event) (string, time.Time) {
	c := e.Data.(change)
	return c.key, c.at
}

func ev(key string, at int64) Event { return Event{Data: change{key, time.UnixMilli(at)}} }

// admitted runs events through a session's duplicate suppression and
// returns the keys fired.
func admitted(d *dedup, events ...Event) []string {
	var out []string
	for _, e := range events {
		if d.admit(e) {
			out = append(out, e.Data.(change).key)
		}
	}
	d.delivered()
	return out
}

func TestDedupAdmit(t *testing.T) {
	k := dedupKey
	t.Run("a delivery skips what a poll fired before the change", func(t *testing.T) {
		d := &dedup{src: pushPoll{}, push: true, doc: &deliveredDoc{Polled: []seen{{k("a"), 1000}, {k("b"), 1000}, {k("c"), 1000}}}}
		got := admitted(d, ev("a", 900), ev("a", 900), ev("b", 1000), ev("d", 1), Event{Data: change{"", time.Time{}}})
		assert.Equal(t, []string{"a", "b", "d", ""}, got, "late a skipped once; b changed at or after the poll; d never polled")
		assert.EqualValues(t, 1, d.skipped)
		assert.ElementsMatch(t, []seen{{k("a"), 1000}, {k("b"), 1000}}, d.consumed, "a matched, b superseded")
		assert.Equal(t, []seen{{k("a"), 900}, {k("b"), 1000}, {k("d"), 1}}, d.fired)
		assert.Equal(t, []seen{{k("c"), 1000}}, d.doc.Polled)
	})
	t.Run("a poll skips what deliveries fired, once each", func(t *testing.T) {
		d := &dedup{src: pushPoll{}, start: time.UnixMilli(5000), doc: &deliveredDoc{Pushed: []seen{{k("a"), 10}, {k("a"), 20}}}}
		got := admitted(d, ev("a", 0), ev("a", 0), ev("a", 0), ev("b", 0))
		assert.Equal(t, []string{"a", "b"}, got)
		assert.EqualValues(t, 2, d.skipped)
		assert.Equal(t, []seen{{k("a"), 5000}, {k("b"), 5000}}, d.fired, "polled entries carry the poll's start")
	})
	t.Run("a failed fire records nothing", func(t *testing.T) {
		d := &dedup{src: pushPoll{}, push: true, doc: &deliveredDoc{}}
		require.True(t, d.admit(ev("a", 1)))
		d.pending = d.pending[:0] // what Flush leaves when the fire failed and the session is dropped
		assert.Empty(t, d.fired)
	})
}

func TestDedupSave(t *testing.T) {
	couch := testenv.CouchDB(t)
	st, err := OpenStore(t.Context(), couch, testenv.NewDatabase(t, couch))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	pr := &Provider{Store: st}
	rec := &Record{DocMeta: DocMeta{ID: RecordID("guest", "t")}, Kind: "push-poll"}
	trig := &Trigger{Namespace: "guest", Name: "t", Kind: "push-poll", settings: []byte(`{}`)}
	k := dedupKey
	base := time.Now().UnixMilli()

	session := func(src Source, push bool, start int64) *Session {
		s := &Session{src: src, Trigger: trig, rec: rec}
		require.NoError(t, pr.attachDedup(t.Context(), s, push, time.UnixMilli(start)))
		return s
	}
	assert.Nil(t, session(pushPoll{polled: false}, true, 0).dedup, "no suppression without the reconcile poll")

	// A delivery fires a and b.
	s := session(pushPoll{polled: true}, true, 0)
	admitted(s.dedup, ev("a", base+100), ev("b", base+200))
	require.NoError(t, pr.saveDedup(t.Context(), s, false))

	// A poll starting at 150 loads the document; meanwhile a delivery fires
	// c. The poll matches a, fires x, and prunes what is older than its
	// start without losing c's write.
	poll := session(pushPoll{polled: true}, false, base+150)
	late := session(pushPoll{polled: true}, true, 0)
	admitted(late.dedup, ev("c", base+120))
	require.NoError(t, pr.saveDedup(t.Context(), late, false))
	admitted(poll.dedup, ev("a", 0), ev("x", 0))
	require.NoError(t, pr.saveDedup(t.Context(), poll, true))

	doc, err := GetDoc[deliveredDoc](t.Context(), st, deliveredID(rec.ID))
	require.NoError(t, err)
	assert.Equal(t, []seen{{k("b"), base + 200}}, doc.Pushed, "a matched; c older than the poll's start: the listing saw it")
	assert.Equal(t, []seen{{k("x"), base + 150}}, doc.Polled)
	assert.Equal(t, deliveredType, doc.Type)

	// A poll that fails part-way lists its changes again: it keeps the
	// pushed entries it matched, and records what it fired.
	failed := session(pushPoll{polled: true}, false, base+500)
	assert.Equal(t, []string{"z"}, admitted(failed.dedup, ev("b", 0), ev("z", 0)))
	require.NoError(t, pr.saveDedup(t.Context(), failed, false))
	doc, err = GetDoc[deliveredDoc](t.Context(), st, deliveredID(rec.ID))
	require.NoError(t, err)
	assert.Equal(t, []seen{{k("b"), base + 200}}, doc.Pushed)
	assert.Equal(t, []seen{{k("x"), base + 150}, {k("z"), base + 500}}, doc.Polled)

	// Polled entries expire; each list is bounded.
	ancient := session(pushPoll{polled: true}, false, base-(polledTTL+time.Hour).Milliseconds())
	admitted(ancient.dedup, ev("y", 0))
	require.NoError(t, pr.saveDedup(t.Context(), ancient, false))
	big := session(pushPoll{polled: true}, true, 0)
	for i := range maxSeen + 10 {
		big.dedup.fired = append(big.dedup.fired, seen{Key: k(string(rune(i))), At: base + int64(i)})
	}
	require.NoError(t, pr.saveDedup(t.Context(), big, false))
	doc, err = GetDoc[deliveredDoc](t.Context(), st, deliveredID(rec.ID))
	require.NoError(t, err)
	assert.Equal(t, []seen{{k("x"), base + 150}, {k("z"), base + 500}}, doc.Polled, "y expired")
	require.Len(t, doc.Pushed, maxSeen)
	assert.Equal(t, base+int64(maxSeen+9), doc.Pushed[maxSeen-1].At, "the newest kept")

	require.NoError(t, st.DeleteDoc(t.Context(), deliveredID(rec.ID)))
	_, err = GetDoc[deliveredDoc](t.Context(), st, deliveredID(rec.ID))
	assert.ErrorIs(t, err, ErrNotFound)
}
