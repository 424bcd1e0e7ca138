package alarms_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/alarms"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

// waitFor bounds every wait for something asynchronous (fires, disabling).
const (
	waitFor = 15 * time.Second
	tick    = 20 * time.Millisecond
)

var (
	feedAlarm    = whisk.MustParseQName("/whisk.system/alarms/alarm")
	feedOnce     = whisk.MustParseQName("/whisk.system/alarms/once")
	feedInterval = whisk.MustParseQName("/whisk.system/alarms/interval")
)

// env is a localwhisk server on a random port with the alarms package, and
// a guest client talking to it.
type env struct {
	url   string
	srv   *server.Server
	prov  *alarms.Provider
	guest *whisk.Client
}

type envConfig struct {
	dataDir string
	// front, when set, wraps the server's handler in a second HTTP server
	// that the provider uses as its API host (to see and answer its fires).
	front func(next http.Handler) http.Handler
	// builtins are registered in namespace guest before serving.
	builtins map[string]*recorder
	opts     []alarms.Option
}

func startEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	discard := slog.New(slog.DiscardHandler)
	ts := httptest.NewUnstartedServer(nil)
	url := "http://" + ts.Listener.Addr().String()
	srv, err := server.New(server.Config{APIHost: url, DataDir: cfg.dataDir, Logger: discard})
	require.NoError(t, err)
	ts.Config.Handler = srv.Handler()

	apiHost := url
	var fs *httptest.Server
	if cfg.front != nil {
		fs = httptest.NewServer(cfg.front(srv.Handler()))
		apiHost = fs.URL
	}
	for name, r := range cfg.builtins {
		require.NoError(t, srv.RegisterBuiltin("guest", "", name, r.handle))
	}
	opts := append([]alarms.Option{alarms.WithLogger(discard), alarms.WithRetryBase(time.Millisecond),
		alarms.WithDataDir(cfg.dataDir)}, cfg.opts...)
	opts = append(opts, alarms.WithAPIHost(apiHost))
	prov, err := alarms.Register(srv, opts...)
	require.NoError(t, err)
	ts.Start()
	t.Cleanup(func() {
		require.NoError(t, prov.Close())
		if fs != nil {
			fs.Close()
		}
		ts.Close()
		require.NoError(t, srv.Close())
	})
	guest, err := whisk.New(url, server.GuestAuthKey)
	require.NoError(t, err)
	return &env{url: url, srv: srv, prov: prov, guest: guest}
}

// feedTrigger creates trigger with feed as wsk does and, when action is set,
// a rule from it to action.
func (e *env) feedTrigger(t *testing.T, trigger string, feed whisk.QName, params map[string]any, action string) {
	t.Helper()
	ctx := t.Context()
	_, err := e.guest.CreateFeedTrigger(ctx, whisk.QName{Name: trigger}, feed, params)
	require.NoError(t, err)
	if action != "" {
		_, err = e.guest.PutRule(ctx, whisk.QName{Name: trigger + "-rule"}, whisk.QName{Name: trigger}, whisk.QName{Name: action}, whisk.Overwrite)
		require.NoError(t, err)
	}
}

// status returns the provider's status of the guest alarm for trigger.
func (e *env) status(trigger string) (alarms.Status, bool) {
	for _, r := range e.prov.Snapshot() {
		if r.Config.Namespace == "guest" && r.Config.Name == trigger {
			return r.Status, true
		}
	}
	return alarms.Status{}, false
}

// waitDisabled waits until the alarm of trigger is inactive and returns its status.
func (e *env) waitDisabled(t *testing.T, trigger string) alarms.Status {
	t.Helper()
	var st alarms.Status
	require.Eventually(t, func() bool {
		s, ok := e.status(trigger)
		st = s
		return ok && !s.Active
	}, waitFor, tick, "alarm %s not disabled", trigger)
	return st
}

// readFeed invokes READ through the feed protocol and decodes the result.
func (e *env) readFeed(t *testing.T, trigger string) alarms.ReadResult {
	t.Helper()
	act, err := e.guest.ReadFeed(t.Context(), whisk.QName{Name: trigger})
	require.NoError(t, err)
	var rr alarms.ReadResult
	require.NoError(t, act.Response.Decode(&rr))
	return rr
}

// recorder is a built-in action that records the payloads it is invoked with.
type recorder struct {
	mu  sync.Mutex
	got []map[string]any
}

func (r *recorder) handle(_ context.Context, params map[string]any, _ server.Identity) (any, error) {
	delete(params, "__ow_headers")
	r.mu.Lock()
	r.got = append(r.got, params)
	r.mu.Unlock()
	return map[string]any{"recorded": true}, nil
}

func (r *recorder) payloads() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// waitCount waits until r recorded at least n invocations.
func (r *recorder) waitCount(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return r.count() >= n }, waitFor, tick, "expected %d invocations", n)
}

// object decodes a JSON object literal for expectations.
func object(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	return m
}

// millis returns the epoch milliseconds of now+d as a JSON number.
func millis(d time.Duration) float64 { return float64(time.Now().Add(d).UnixMilli()) }

// iso returns now+d as an ISO-8601 string in UTC with milliseconds.
func iso(d time.Duration) string {
	return time.Now().Add(d).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// feedError returns the error message of a failed feed invocation.
func feedError(t *testing.T, err error) string {
	t.Helper()
	var ae *whisk.ActionError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusBadGateway, ae.StatusCode)
	return ae.Message()
}

// annotation returns the value of the annotation key as decoded JSON.
func annotation(t *testing.T, anns whisk.KeyValues, key string) any {
	t.Helper()
	v, ok := anns.Lookup(key)
	require.True(t, ok, "annotation %s", key)
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}
