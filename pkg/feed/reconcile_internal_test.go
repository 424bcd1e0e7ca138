package feed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// optionalPoll is a push source whose triggers ask for a reconcile poll with
// the parameter "reconcile" (minutes, 0 for none).
type optionalPoll struct {
	mu    sync.Mutex
	syncs []string // "target: n triggers"
	polls int
}

type optionalSettings struct {
	Target    string `json:"target"`
	Reconcile int    `json:"reconcile,omitempty"`
}

func (*optionalPoll) Kind() string { return "optional-poll" }
func (*optionalPoll) Configure(p *Params) (any, error) {
	return optionalSettings{Target: p.Required("target", "a name"), Reconcile: p.Int("reconcile", 0, 0, 60)}, nil
}
func (*optionalPoll) Target(t *Trigger) string {
	var s optionalSettings
	_ = t.Settings(&s)
	return s.Target
}
func (o *optionalPoll) Sync(_ context.Context, target string, _ *Trigger, triggers []*Trigger, _ Destination) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.syncs = append(o.syncs, fmt.Sprintf("%s: %d", target, len(triggers)))
	return nil
}
func (*optionalPoll) Receive(context.Context, *runtime.WebRequest) (string, []Event, error) {
	return "", nil, nil
}
func (o *optionalPoll) Poll(context.Context, *Session) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.polls++
	return nil
}
func (*optionalPoll) PollSchedule(t *Trigger) (Schedule, bool) {
	var s optionalSettings
	_ = t.Settings(&s)
	return Schedule{Interval: s.Reconcile}, s.Reconcile > 0
}

// fakeREST answers the OpenWhisk REST calls of the lifecycle (owner check,
// alarm triggers through the alarms feed, rules) and records them.
type fakeREST struct {
	mu       sync.Mutex
	calls    []string
	triggers map[string]bool
}

func (f *fakeREST) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	path := strings.TrimPrefix(r.URL.Path, "/api/v1/namespaces/")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+path)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.Contains(path, "/triggers/"):
		_, name, _ := strings.Cut(path, "/triggers/")
		switch r.Method {
		case http.MethodGet:
			if !f.triggers[name] {
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"error":"The requested resource does not exist.","code":"x"}`))
				return
			}
			_, _ = fmt.Fprintf(w, `{"namespace":"whisk.system","name":%q,"annotations":[{"key":"feed","value":"/whisk.system/alarms/interval"}]}`, name)
		case http.MethodPut:
			f.triggers[name] = true
			_, _ = fmt.Fprintf(w, `{"namespace":"whisk.system","name":%q}`, name)
		case http.MethodDelete:
			delete(f.triggers, name)
			_, _ = w.Write([]byte(`{}`))
		}
	case strings.Contains(path, "/actions/"):
		_, _ = w.Write([]byte(`{"activationId":"0123456789abcdef0123456789abcdef","response":{"status":"success","success":true,"result":{}}}`))
	default:
		_, _ = w.Write([]byte(`{"status":"active"}`))
	}
}

func (f *fakeREST) took(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	f.calls = nil
	return out
}

// TestOptionalPollLifecycle drives the lifecycle handler for a subscriber
// whose poll is optional: no alarm without it, one when UPDATE asks for it,
// none again when UPDATE turns it off.
func TestOptionalPollLifecycle(t *testing.T) {
	couch := testenv.CouchDB(t)
	db := testenv.NewDatabase(t, couch)
	rest := &fakeREST{triggers: map[string]bool{"t": true}}
	srv := httptest.NewServer(rest)
	t.Cleanup(srv.Close)
	src := &optionalPoll{}
	handler := Lifecycle(src)
	ctx := runtime.WithActivation(t.Context(), runtime.Activation{APIHost: srv.URL, APIKey: "provider:key",
		ActionName: "/whisk.system/optional-web/lifecycle"})
	call := func(event string, params map[string]any) (int, map[string]any) {
		t.Helper()
		p := map[string]any{"couchdb_url": couch, "couchdb_database": db, "encryption_key": strings.Repeat("ab", 32),
			"lifecycleEvent": event, "triggerName": "/guest/t", "authKey": "user:key"}
		for k, v := range params {
			p[k] = v
		}
		raw, err := json.Marshal(p)
		require.NoError(t, err)
		res, err := handler.Invoke(ctx, raw)
		require.NoError(t, err)
		b, err := json.Marshal(res)
		require.NoError(t, err)
		var web struct {
			StatusCode int            `json:"statusCode"`
			Body       map[string]any `json:"body"`
		}
		require.NoError(t, json.Unmarshal(b, &web))
		return web.StatusCode, web.Body
	}
	st, err := OpenStore(t.Context(), couch, db)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	kr, err := NewKeyring(strings.Repeat("ab", 32))
	require.NoError(t, err)
	pr := &Provider{Store: st, Keyring: kr, fireVia: func(context.Context, string, any) (bool, error) { return false, nil }}
	record := func() *Record {
		rec, err := st.Get(t.Context(), RecordID("guest", "t"))
		require.NoError(t, err)
		return rec
	}
	alarm := alarmNames(RecordID("guest", "t"))

	status, body := call("CREATE", map[string]any{"target": "bucket-a"})
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, Alarm{}, record().Alarm)
	assert.Empty(t, rest.took("PUT whisk.system/rules/"), "no alarm without the reconcile poll")
	assert.NotContains(t, body["config"], ParamInterval)

	status, body = call("UPDATE", map[string]any{"reconcile": 5})
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, alarm, record().Alarm)
	assert.Equal(t, []string{"PUT whisk.system/rules/" + alarm.Rule}, rest.took("PUT whisk.system/rules/"))

	res, err := pr.poll(t.Context(), []Poller{src}, RecordID("guest", "t"))
	require.NoError(t, err)
	assert.Empty(t, res.Skipped)

	status, body = call("UPDATE", map[string]any{"reconcile": 0})
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, Alarm{}, record().Alarm)
	assert.Contains(t, rest.took("DELETE"), "DELETE whisk.system/rules/"+alarm.Rule)
	res, err = pr.poll(t.Context(), []Poller{src}, RecordID("guest", "t"))
	require.NoError(t, err)
	assert.Equal(t, "not polled", res.Skipped, "a tick left over finds nothing to poll")

	status, body = call("DELETE", nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	src.mu.Lock()
	defer src.mu.Unlock()
	assert.Equal(t, []string{"bucket-a: 1", "bucket-a: 1", "bucket-a: 1", "bucket-a: 0"}, src.syncs)
	assert.Equal(t, 1, src.polls)
}
