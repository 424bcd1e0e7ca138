package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/runner"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

// benchServer is a server with the real runner pool (its default of two
// processes per action) behind a real HTTP listener, for benchmarks. Its
// methods return errors instead of failing so that RunParallel goroutines
// can use them.
type benchServer struct {
	url    string
	auth   string
	client *http.Client
}

func newBenchServer(b *testing.B) *benchServer {
	b.Helper()
	ts := httptest.NewUnstartedServer(nil)
	pool := runner.New(b.TempDir())
	srv, err := server.New(server.Config{
		Executor: pool,
		APIHost:  "http://" + ts.Listener.Addr().String(),
		// keep every activation of a run so that all of them can be counted
		ActivationsMax: 1 << 22,
		Logger:         slog.New(slog.DiscardHandler),
	})
	require.NoError(b, err)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}
	b.Cleanup(func() {
		tr.CloseIdleConnections()
		ts.Close()
		require.NoError(b, srv.Close())
		require.NoError(b, pool.Close())
	})
	return &benchServer{
		url:    ts.URL,
		auth:   "Basic " + base64.StdEncoding.EncodeToString([]byte(guest)),
		client: &http.Client{Transport: tr},
	}
}

// send does one request as guest and returns the status, the activation id
// header and the body.
func (s *benchServer) send(method, path string, body []byte) (int, string, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		return 0, "", nil, fmt.Errorf("build request %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", s.auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", nil, fmt.Errorf("send %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", nil, fmt.Errorf("read response of %s %s: %w", method, path, err)
	}
	return resp.StatusCode, resp.Header.Get("x-openwhisk-activation-id"), b, nil
}

// expect does one request and checks its status.
func (s *benchServer) expect(status int, method, path string, body []byte) (string, []byte, error) {
	got, id, b, err := s.send(method, path, body)
	if err != nil {
		return "", nil, err
	}
	if got != status {
		return "", nil, fmt.Errorf("%s %s: status %d, want %d: %s", method, path, got, status, b)
	}
	return id, b, nil
}

// must is expect for the benchmark goroutine.
func (s *benchServer) must(b *testing.B, status int, method, path string, body any) []byte {
	b.Helper()
	j, err := json.Marshal(body)
	require.NoError(b, err)
	_, out, err := s.expect(status, method, path, j)
	require.NoError(b, err)
	return out
}

// warm creates the action and starts n of its processes with n concurrent
// invokes that overlap (each sleeps), so that the timed loop finds them warm.
func (s *benchServer) warm(b *testing.B, action string, n int) {
	b.Helper()
	s.must(b, http.StatusOK, http.MethodPut, invokePath+action, codeAction(nil))
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = s.expect(http.StatusOK, http.MethodPost, invokePath+action+"?blocking=true&result=true",
				[]byte(`{"op":"sleep","ms":200}`))
		})
	}
	wg.Wait()
	require.NoError(b, errors.Join(errs...))
}

// invokeOK checks that a result=true answer is the test action's echo.
func invokeOK(body []byte) error {
	var res struct {
		Params map[string]any `json:"params"`
	}
	if err := json.Unmarshal(body, &res); err != nil || res.Params["n"] != 1.0 {
		return fmt.Errorf("unexpected invoke result: %s", body)
	}
	return nil
}

var benchPayload = []byte(`{"n":1}`)

// BenchmarkInvokeBlocking measures one warm blocking invoke over HTTP:
// authentication, entity lookup, the run on a warm process, the activation
// record and the result=true answer.
func BenchmarkInvokeBlocking(b *testing.B) {
	s := newBenchServer(b)
	s.warm(b, "echo", 1)
	path := invokePath + "echo?blocking=true&result=true"

	n := 0
	for b.Loop() {
		_, body, err := s.expect(http.StatusOK, http.MethodPost, path, benchPayload)
		if err == nil {
			err = invokeOK(body)
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(n), "µs/roundtrip")
}

// BenchmarkInvokeBlockingParallel measures the throughput of warm blocking
// invokes sent concurrently (GOMAXPROCS clients, two warm processes).
func BenchmarkInvokeBlockingParallel(b *testing.B) {
	s := newBenchServer(b)
	s.warm(b, "echo", runner.DefaultMaxPerAction)
	path := invokePath + "echo?blocking=true&result=true"

	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, body, err := s.expect(http.StatusOK, http.MethodPost, path, benchPayload)
			if err == nil {
				err = invokeOK(body)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "invokes/s")
}

// BenchmarkFireToActivation fires a trigger with one active rule to a warm
// action b.N times, then waits until all b.N rule activations are recorded.
// ns/op covers the whole path (first fire to last activation recorded);
// fires/s is the rate at which fires were accepted and activations/s the
// end-to-end rate.
func BenchmarkFireToActivation(b *testing.B) {
	s := newBenchServer(b)
	s.warm(b, "echo", runner.DefaultMaxPerAction)
	s.must(b, http.StatusOK, http.MethodPut, trigPath+"t", map[string]any{})
	s.must(b, http.StatusOK, http.MethodPut, "/api/v1/namespaces/_/rules/r", map[string]any{"trigger": "/_/t", "action": "/_/echo"})
	base := s.countActivations(b, "echo")

	b.ResetTimer()
	start := time.Now()
	var lastTrigger string
	for range b.N {
		id, _, err := s.expect(http.StatusAccepted, http.MethodPost, trigPath+"t", benchPayload)
		if err != nil {
			b.Fatal(err)
		}
		lastTrigger = id
	}
	fired := time.Since(start)
	s.awaitActivations(b, lastTrigger, "echo", base+b.N)
	b.StopTimer()
	total := b.Elapsed()

	b.ReportMetric(float64(b.N)/fired.Seconds(), "fires/s")
	b.ReportMetric(float64(b.N)/total.Seconds(), "activations/s")
}

// countActivations asks the server how many activations of name it keeps.
func (s *benchServer) countActivations(b *testing.B, name string) int {
	b.Helper()
	var c struct {
		Activations *int `json:"activations"`
	}
	body := s.must(b, http.StatusOK, http.MethodGet, "/api/v1/namespaces/_/activations?count=true&name="+name, nil)
	require.NoError(b, json.Unmarshal(body, &c), "count body: %s", body)
	require.NotNil(b, c.Activations, "count body: %s", body)
	return *c.Activations
}

// stallLimit is how long awaitActivations waits without a new activation
// being recorded before it gives up.
const stallLimit = 30 * time.Second

// awaitActivations waits until want activations of name are recorded, giving
// up when none was added for stallLimit (a backlog may take long, but it must
// move). It first follows the last fire's trigger activation to its rule
// activation with cheap lookups by id, then checks the count until it is
// reached; the count scans the whole store, so while waiting it is only
// asked every half second, to see progress.
func (s *benchServer) awaitActivations(b *testing.B, lastTrigger, name string, want int) {
	b.Helper()
	have, progressed, checked := -1, time.Now(), time.Time{}
	progress := func() {
		b.Helper()
		if time.Since(checked) < 500*time.Millisecond {
			return
		}
		checked = time.Now()
		if n := s.countActivations(b, name); n != have {
			have, progressed = n, checked
		}
		if time.Since(progressed) > stallLimit {
			b.Fatalf("no activation of %s recorded for %s: %d of %d", name, stallLimit, have, want)
		}
	}
	poll := func(done func() (bool, error)) {
		b.Helper()
		for {
			ok, err := done()
			require.NoError(b, err)
			if ok {
				return
			}
			progress()
			time.Sleep(time.Millisecond)
		}
	}
	actPath := "/api/v1/namespaces/_/activations/"

	var ruleActivation string
	poll(func() (bool, error) {
		status, _, body, err := s.send(http.MethodGet, actPath+lastTrigger+"/logs", nil)
		if err != nil || status == http.StatusNotFound {
			return false, err
		}
		var logs struct {
			Logs []string `json:"logs"`
		}
		if err := json.Unmarshal(body, &logs); err != nil || len(logs.Logs) != 1 {
			return false, fmt.Errorf("trigger activation logs: status %d: %s", status, body)
		}
		var rr struct {
			Success      bool   `json:"success"`
			ActivationID string `json:"activationId"`
		}
		if err := json.Unmarshal([]byte(logs.Logs[0]), &rr); err != nil || !rr.Success {
			return false, fmt.Errorf("rule did not activate: %s", logs.Logs[0])
		}
		ruleActivation = rr.ActivationID
		return true, nil
	})
	poll(func() (bool, error) {
		status, _, body, err := s.send(http.MethodGet, actPath+ruleActivation, nil)
		if err != nil || status == http.StatusNotFound {
			return false, err
		}
		var act struct {
			Response struct {
				Status string `json:"status"`
			} `json:"response"`
		}
		if err := json.Unmarshal(body, &act); err != nil || act.Response.Status != "success" {
			return false, fmt.Errorf("rule activation: status %d: %s", status, body)
		}
		return true, nil
	})
	poll(func() (bool, error) {
		return s.countActivations(b, name) >= want, nil
	})
}
