//go:build unix

package runner

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// actionBin is the test action (testdata/action) built for this machine;
// actionZip packs it as exec with a matching exec.env.
var actionBin, actionZip []byte

const execEnv = "openwhisk/action-golang-v1.22"

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "runner-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "exec")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/action")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build test action: %v\n%s", err, out)
		return 1
	}
	if actionBin, err = os.ReadFile(bin); err != nil {
		fmt.Fprintln(os.Stderr, "read test action:", err)
		return 1
	}
	actionZip = zipOf(map[string][]byte{"exec": actionBin, "exec.env": []byte(execEnv + "\n")})
	return m.Run()
}

func zipOf(files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			panic(err)
		}
		if _, err := w.Write(data); err != nil {
			panic(err)
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func tarGzOf(files map[string][]byte) []byte {
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		panic(err)
	}
	tw := tar.NewWriter(gz)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			panic(err)
		}
		if _, err := tw.Write(data); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	if err := gz.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func newPool(t testing.TB, opts ...Option) *Pool {
	t.Helper()
	p := New(t.TempDir(), opts...)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

func testSpec(key string) Spec {
	return Spec{Key: key, Code: actionZip, Kind: "go:1.22", Timeout: 20 * time.Second}
}

var actSeq struct {
	sync.Mutex
	n int
}

func testAct(value string) Activation {
	actSeq.Lock()
	actSeq.n++
	n := actSeq.n
	actSeq.Unlock()
	return Activation{
		Value:         json.RawMessage(value),
		ActionName:    "/guest/pkg/a",
		ActionVersion: "0.0.1",
		Namespace:     "guest",
		ActivationID:  fmt.Sprintf("%032x", n),
		TransactionID: fmt.Sprintf("tid-%d", n),
		APIHost:       "http://127.0.0.1:3233",
	}
}

// decode parses a successful result.
func decode(t *testing.T, r Result) map[string]any {
	t.Helper()
	require.Equal(t, Success, r.Status, "response: %s, logs: %q", r.Response, r.Logs)
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Response, &m))
	return m
}

func pidOf(t *testing.T, r Result) int {
	t.Helper()
	pid, ok := decode(t, r)["pid"].(float64)
	require.True(t, ok, "result has no pid: %s", r.Response)
	return int(pid)
}

func errorOf(t *testing.T, r Result) string {
	t.Helper()
	var m struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(r.Response, &m), "response %s", r.Response)
	return m.Error
}

// texts returns the "stream: text" part of log lines.
func texts(logs []string) []string {
	out := make([]string, 0, len(logs))
	for _, l := range logs {
		if len(l) > 31 {
			out = append(out, l[31:])
		} else {
			out = append(out, l)
		}
	}
	return out
}

// stream returns the "stream: text" parts of the lines of one stream.
func stream(logs []string, name string) []string {
	return slices.DeleteFunc(texts(logs), func(l string) bool { return !strings.HasPrefix(l, name+": ") })
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) || runtime.GOOS != "linux"
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

func TestColdThenWarm(t *testing.T) {
	p := newPool(t)
	spec := testSpec("guest/a@0.0.1")

	first := p.Run(t.Context(), spec, testAct(`{"op":"pid"}`))
	second := p.Run(t.Context(), spec, testAct(`{"op":"pid"}`))

	assert.Positive(t, first.InitTime, "cold start records the init time")
	assert.Zero(t, second.InitTime, "warm run has no init time")
	assert.Equal(t, pidOf(t, first), pidOf(t, second), "the warm run reuses the process")
	assert.Equal(t, 1.0, decode(t, first)["count"])
	assert.Equal(t, 2.0, decode(t, second)["count"], "globals persist between warm runs")
	assert.False(t, first.End.Before(first.Start))
	assert.Contains(t, texts(first.Logs), "stdout: init output", "output before the ack belongs to the first activation")
	assert.Empty(t, second.Logs)
	assert.NotNil(t, second.Logs)
}

func TestEnvironment(t *testing.T) {
	t.Setenv("RUNNER_TEST_HOST_ONLY", "must not leak")
	p := newPool(t)
	spec := testSpec("guest/env@0.0.1")
	spec.Env = map[string]string{"INIT_SETTING": "from init"}

	act := testAct("{\n  \"op\": \"env\"\n}") // newlines in the value must not split the message
	act.APIKey = "uuid:secret"
	act.Deadline = time.Now().Add(time.Minute).Truncate(time.Millisecond)
	cold := decode(t, p.Run(t.Context(), spec, act))
	env := cold["env"].(map[string]any)

	tests := []struct {
		name string
		want string
	}{
		{"INIT_SETTING", "from init"},
		{"PATH", defaultPath},
		{"__OW_API_HOST", act.APIHost},
		{"__OW_NAMESPACE", "guest"},
		{"__OW_ACTION_NAME", "/guest/pkg/a"},
		{"__OW_ACTION_VERSION", "0.0.1"},
		{"__OW_ACTIVATION_ID", act.ActivationID},
		{"__OW_TRANSACTION_ID", act.TransactionID},
		{"__OW_DEADLINE", strconv.FormatInt(act.Deadline.UnixMilli(), 10)},
		{"__OW_API_KEY", "uuid:secret"},
		{"__OW_PROXY_VERSION", proxyVersion},
		{"__OW_EXECUTION_ENV", execEnv},
		{"__OW_WAIT_FOR_ACK", "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, env[tc.name])
		})
	}
	assert.NotContains(t, env, "RUNNER_TEST_HOST_ONLY", "the host environment is not inherited")
	assert.NotContains(t, env, "HOME")

	msg := cold["msg"].(map[string]any)
	assert.ElementsMatch(t, []string{"value", "namespace", "action_name", "action_version", "activation_id",
		"transaction_id", "api_host", "api_key", "deadline"}, cold["keys"])
	assert.Equal(t, strconv.FormatInt(act.Deadline.UnixMilli(), 10), msg["deadline"], "deadline is a string of epoch ms")
	assert.Equal(t, map[string]any{"op": "env"}, msg["value"])

	// A warm run without an API key: the message omits it; a run without a
	// deadline gets now + timeout.
	warmAct := testAct(`{"op":"env"}`)
	before := time.Now()
	warm := decode(t, p.Run(t.Context(), spec, warmAct))
	assert.Equal(t, 2.0, warm["count"], "same process")
	assert.NotContains(t, warm["keys"], "api_key")
	ms, err := strconv.ParseInt(warm["msg"].(map[string]any)["deadline"].(string), 10, 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, ms, before.Add(spec.Timeout).UnixMilli())
	assert.Equal(t, warmAct.ActivationID, warm["env"].(map[string]any)["__OW_ACTIVATION_ID"])
}

var logLineRE = regexp.MustCompile(`^(\S+ *) (stdout|stderr): (.*)$`)

func TestLogsAttributedPerActivation(t *testing.T) {
	p := newPool(t, WithMaxPerAction(2))
	spec := testSpec("guest/logs@0.0.1")

	var wg sync.WaitGroup
	var a, b Result
	wg.Go(func() {
		a = p.Run(t.Context(), spec, testAct(`{"op":"log","stdout":["a1","a2","a3"],"stderr":["a-err"],"sleep_ms":300}`))
	})
	wg.Go(func() {
		b = p.Run(t.Context(), spec, testAct(`{"op":"log","stdout":["b1","b2"],"stderr":["b-err"],"sleep_ms":300}`))
	})
	wg.Wait()

	decode(t, a)
	decode(t, b)
	// Lines of the two streams are ordered by the time they were read, so
	// only the order within one stream is certain.
	assert.Equal(t, []string{"stdout: init output", "stdout: a1", "stdout: a2", "stdout: a3"}, stream(a.Logs, "stdout"))
	assert.Equal(t, []string{"stderr: a-err"}, stream(a.Logs, "stderr"))
	assert.Equal(t, []string{"stdout: init output", "stdout: b1", "stdout: b2"}, stream(b.Logs, "stdout"))
	assert.Equal(t, []string{"stderr: b-err"}, stream(b.Logs, "stderr"))

	for _, l := range append(a.Logs, b.Logs...) {
		m := logLineRE.FindStringSubmatch(l)
		require.NotNil(t, m, "log line %q", l)
		assert.Len(t, m[1], 30, "timestamp padded to 30 characters")
		_, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(m[1]))
		assert.NoError(t, err)
		assert.NotContains(t, l, Sentinel)
	}

	// Output without a final newline still belongs to its activation, and the
	// next activation on the same process starts clean.
	c := p.Run(t.Context(), spec, testAct(`{"op":"log","stdout":["c1"],"partial":"no newline"}`))
	d := p.Run(t.Context(), spec, testAct(`{"op":"log","stdout":["d1"]}`))
	assert.Equal(t, []string{"stdout: c1", "stdout: no newline"}, texts(c.Logs))
	assert.Equal(t, []string{"stdout: d1"}, texts(d.Logs))
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		value    string
		status   Status
		response string
		keep     bool // the process serves the next activation
		logs     []string
	}{
		{"object", `{"x":1}`, Success, `{"echo":{"x":1},"count":1}`, true, nil},
		{"array", `{"op":"array"}`, Success, `[1,2,3]`, true, nil},
		{"application error keeps only the error field", `{"op":"error"}`, ApplicationError,
			`{"error":{"code":42,"reason":"boom"}}`, true, nil},
		{"string result", `{"op":"string"}`, DeveloperError, `{"error":"` + msgNotDictionary + `"}`, false,
			[]string{"stderr: " + msgDevErrorLogs}},
		{"not json", `{"op":"garbage"}`, DeveloperError, `{"error":"` + msgNotDictionary + `"}`, false,
			[]string{"stderr: " + msgDevErrorLogs}},
		{"exit before answering", `{"op":"exit"}`, DeveloperError, `{"error":"` + msgExited + `"}`, false,
			[]string{"stdout: about to crash", "stderr: " + msgDevErrorLogs}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, WithMaxPerAction(1))
			spec := testSpec("guest/outcome@0.0.1")
			before := pidOf(t, p.Run(t.Context(), spec, testAct(`{"op":"pid"}`)))

			r := p.Run(t.Context(), spec, testAct(tc.value))
			assert.Equal(t, tc.status, r.Status)
			if tc.name == "object" {
				tc.response = `{"echo":{"x":1},"count":2}`
			}
			assert.JSONEq(t, tc.response, string(r.Response))
			assert.False(t, r.TimedOut)
			if tc.logs != nil {
				assert.Equal(t, tc.logs, texts(r.Logs))
			}

			next := p.Run(t.Context(), spec, testAct(`{"op":"pid"}`))
			if tc.keep {
				assert.Equal(t, before, pidOf(t, next))
				assert.Zero(t, next.InitTime)
			} else {
				assert.NotEqual(t, before, pidOf(t, next), "a developer error retires the process")
				assert.Positive(t, next.InitTime, "the next run starts a new process")
				assert.False(t, alive(before), "the old process is gone")
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	p := newPool(t, WithMaxPerAction(1))
	spec := testSpec("guest/slow@0.0.1")
	spec.Timeout = 300 * time.Millisecond
	pid := pidOf(t, p.Run(t.Context(), spec, testAct(`{"op":"pid"}`)))

	r := p.Run(t.Context(), spec, testAct(`{"op":"sleep","sleep_ms":60000}`))

	assert.Equal(t, DeveloperError, r.Status)
	assert.True(t, r.TimedOut)
	assert.Equal(t, "The action exceeded its time limits of 300 milliseconds.", errorOf(t, r))
	assert.Equal(t, []string{"stdout: sleeping", "stderr: " + msgDevErrorLogs}, texts(r.Logs))
	assert.False(t, alive(pid), "the process was killed")

	next := p.Run(t.Context(), spec, testAct(`{"op":"pid"}`))
	assert.NotEqual(t, pid, pidOf(t, next))

	t.Run("deadline earlier than the timeout", func(t *testing.T) {
		spec := testSpec("guest/slow@0.0.2")
		act := testAct(`{"op":"sleep","sleep_ms":60000}`)
		act.Deadline = time.Now().Add(300 * time.Millisecond)
		r := p.Run(t.Context(), spec, act)
		assert.Equal(t, DeveloperError, r.Status)
		assert.True(t, r.TimedOut)
	})
}

func TestStartFailures(t *testing.T) {
	tests := []struct {
		name     string
		start    string
		timeout  time.Duration
		message  string
		timedOut bool
		logs     []string
	}{
		{"exits before the ack", "exit", 0, msgCannotStart, false, []string{
			"stderr: fatal: no configuration", "stderr: " + msgInitExited, "stderr: " + msgDevErrorLogs}},
		{"wrong ack", "badack", 0, msgCannotStart, false, nil},
		{"no ack in time", "hang", 300 * time.Millisecond,
			"The action exceeded its time limits of 300 milliseconds during initialization.", true,
			[]string{"stderr: " + msgDevErrorLogs}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t)
			spec := testSpec("guest/broken@0.0.1")
			spec.Env = map[string]string{"START": tc.start}
			if tc.timeout > 0 {
				spec.Timeout = tc.timeout
			}
			r := p.Run(t.Context(), spec, testAct(`{}`))
			assert.Equal(t, DeveloperError, r.Status)
			assert.Equal(t, tc.message, errorOf(t, r))
			assert.Equal(t, tc.timedOut, r.TimedOut)
			assert.Positive(t, r.InitTime)
			if tc.logs != nil {
				assert.Equal(t, tc.logs, stream(r.Logs, "stderr"))
				assert.Equal(t, "stderr: "+msgDevErrorLogs, texts(r.Logs)[len(r.Logs)-1])
				if tc.start == "exit" {
					assert.Equal(t, []string{"stdout: starting and giving up"}, stream(r.Logs, "stdout"))
				}
			} else {
				assert.Contains(t, strings.Join(r.Logs, "\n"), "acknowledgement")
			}
			assert.Empty(t, pids(p), "the failed process is not kept")
		})
	}
}

func TestBadCode(t *testing.T) {
	tests := []struct {
		name    string
		code    []byte
		kind    string
		status  Status
		message string // substring of the error
	}{
		{"zip without exec", zipOf(map[string][]byte{"main.go": []byte("package main")}), "", DeveloperError,
			"has no file named exec at its top level"},
		{"exec in a folder", zipOf(map[string][]byte{"dist/exec": actionBin}), "", DeveloperError,
			`found "dist/exec"`},
		{"not an archive", []byte("console.log('hi')"), "", DeveloperError, "neither a zip, a tar.gz nor a native executable"},
		{"empty code", nil, "", DeveloperError, "Missing main/no code to execute."},
		{"exec is text", zipOf(map[string][]byte{"exec": []byte("package main\n")}), "", DeveloperError,
			"neither a native executable nor a #! script"},
		{"member outside", zipOf(map[string][]byte{"exec": actionBin, "../evil": []byte("x")}), "", DeveloperError,
			"points outside the action directory"},
		{"exec.env of another version", actionZip, "go:1.23", DeveloperError,
			`exec.env says "openwhisk/action-golang-v1.22" but the action kind go:1.23 runs "openwhisk/action-golang-v1.23"`},
		{"exec.env with two lines", zipOf(map[string][]byte{"exec": actionBin, "exec.env": []byte("a\nb\n")}), "", DeveloperError,
			"exec.env must hold one line"},
		{"zip without exec.env", zipOf(map[string][]byte{"exec": actionBin}), "go:1.22", Success, ""},
		{"single executable", actionBin, "", Success, ""},
		{"tar.gz", tarGzOf(map[string][]byte{"./exec": actionBin, "exec.env": []byte(execEnv)}), "go:1.22", Success, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t)
			spec := Spec{Key: "guest/code@0.0.1", Code: tc.code, Kind: tc.kind}
			r := p.Run(t.Context(), spec, testAct(`{"x":1}`))
			require.Equal(t, tc.status, r.Status, "response %s", r.Response)
			if tc.status == Success {
				return
			}
			assert.Contains(t, errorOf(t, r), tc.message)
			assert.Contains(t, strings.Join(r.Logs, "\n"), tc.message, "the message is in the logs too")
			// The verdict is cached per key: a second run fails the same way.
			again := p.Run(t.Context(), spec, testAct(`{}`))
			assert.Equal(t, r.Response, again.Response)
		})
	}
}

func TestOversizeResult(t *testing.T) {
	p := newPool(t, WithMaxPerAction(1))
	spec := testSpec("guest/big@0.0.1")
	const overhead = len(`{"data":""}`)

	ok := p.Run(t.Context(), spec, testAct(fmt.Sprintf(`{"op":"big","n":%d}`, MaxResultSize-overhead)))
	assert.Len(t, decode(t, ok)["data"], MaxResultSize-overhead, "exactly the limit is accepted")

	n := MaxResultSize + 5000
	r := p.Run(t.Context(), spec, testAct(fmt.Sprintf(`{"op":"big","n":%d}`, n)))
	assert.Equal(t, DeveloperError, r.Status)
	assert.Equal(t, fmt.Sprintf("The action produced a response that exceeded the allowed length: %d > 1048576 bytes.", n+overhead),
		errorOf(t, r))

	next := p.Run(t.Context(), spec, testAct(`{"op":"pid"}`))
	assert.Equal(t, Success, next.Status, "the pool recovers")
}

func TestLogTruncation(t *testing.T) {
	p := newPool(t, WithMaxPerAction(1))
	spec := testSpec("guest/chatty@0.0.1")
	spec.LogMax = 100
	p.Run(t.Context(), spec, testAct(`{}`)) // the init output goes to this one

	lines := make([]string, 10)
	for i := range lines {
		lines[i] = fmt.Sprintf("line-%04d", i) // 10 bytes with the newline
	}
	value, err := json.Marshal(map[string]any{"op": "log", "stdout": append(lines, "one more line")})
	require.NoError(t, err)
	r := p.Run(t.Context(), spec, testAct(string(value)))

	want := make([]string, 0, 11)
	for _, l := range lines {
		want = append(want, "stdout: "+l)
	}
	want = append(want, "stderr: Logs were truncated because the total bytes size exceeds the limit of 100 bytes.")
	assert.Equal(t, want, texts(r.Logs))
	assert.Equal(t, Success, r.Status)

	next := p.Run(t.Context(), spec, testAct(`{"op":"log","stdout":["after"]}`))
	assert.Equal(t, []string{"stdout: after"}, texts(next.Logs), "the next activation's logs are in step")
}

// pids lists the processes the pool holds.
func pids(p *Pool) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, a := range p.actions {
		for _, pr := range a.procs {
			pr.mu.Lock()
			if pr.pid > 0 {
				out = append(out, pr.pid)
			}
			pr.mu.Unlock()
		}
	}
	return out
}

func busy(p *Pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, a := range p.actions {
		for _, pr := range a.procs {
			if pr.state == stateBusy {
				n++
			}
		}
	}
	return n
}

func TestPoolLimit(t *testing.T) {
	p := newPool(t, WithMaxPerAction(2))
	spec := testSpec("guest/limit@0.0.1")

	results := make([]Result, 3)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			results[i] = p.Run(t.Context(), spec, testAct(`{"op":"pid","sleep_ms":300}`))
		})
	}
	wg.Wait()

	seen := map[int]bool{}
	cold := 0
	for _, r := range results {
		seen[pidOf(t, r)] = true
		if r.InitTime > 0 {
			cold++
		}
	}
	assert.Len(t, seen, 2, "three activations share two processes")
	assert.Equal(t, 2, cold, "the third activation waited for a warm process")

	t.Run("waiting honours ctx", func(t *testing.T) {
		p := newPool(t, WithMaxPerAction(1))
		done := make(chan Result)
		go func() { done <- p.Run(t.Context(), spec, testAct(`{"op":"pid","sleep_ms":600}`)) }()
		require.Eventually(t, func() bool { return busy(p) == 1 }, 10*time.Second, 5*time.Millisecond)

		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		r := p.Run(ctx, spec, testAct(`{"op":"pid"}`))
		assert.Equal(t, InternalError, r.Status)
		assert.Contains(t, errorOf(t, r), msgActivationStop)

		assert.Equal(t, Success, (<-done).Status, "the running activation is not disturbed")
	})
}

func TestCancelRunningActivation(t *testing.T) {
	p := newPool(t, WithMaxPerAction(1))
	spec := testSpec("guest/cancel@0.0.1")
	pid := pidOf(t, p.Run(t.Context(), spec, testAct(`{"op":"pid"}`)))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan Result)
	go func() { done <- p.Run(ctx, spec, testAct(`{"op":"sleep","sleep_ms":60000}`)) }()
	require.Eventually(t, func() bool { return busy(p) == 1 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	r := <-done

	assert.Equal(t, InternalError, r.Status)
	assert.False(t, alive(pid), "the aborted activation's process is killed")
	assert.Equal(t, Success, p.Run(t.Context(), spec, testAct(`{}`)).Status)
}

func TestNamespaces(t *testing.T) {
	p := newPool(t, WithMaxPerAction(1))
	spec := testSpec("guest/shared@0.0.1")
	actIn := func(ns string) Activation {
		a := testAct(`{"op":"pid"}`)
		a.Namespace = ns
		return a
	}
	first := pidOf(t, p.Run(t.Context(), spec, actIn("alice")))
	second := p.Run(t.Context(), spec, actIn("bob"))

	assert.NotEqual(t, first, pidOf(t, second), "a process serves one namespace only")
	assert.Positive(t, second.InitTime)
	assert.False(t, alive(first), "the idle process of the other namespace made room")
}

func TestIdleReaping(t *testing.T) {
	dir := t.TempDir()
	p := New(dir, WithIdleTimeout(100*time.Millisecond))
	defer func() { require.NoError(t, p.Close()) }()
	spec := testSpec("guest/idle@0.0.1")

	pid := pidOf(t, p.Run(t.Context(), spec, testAct(`{"op":"pid"}`)))
	require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		entries, err := os.ReadDir(dir)
		return err == nil && len(entries) == 0
	}, 10*time.Second, 10*time.Millisecond, "the unpacked code of a forgotten version is removed")

	again := p.Run(t.Context(), spec, testAct(`{"op":"pid"}`))
	assert.Positive(t, again.InitTime, "a reaped action starts cold")
}

func TestCloseKillsEverything(t *testing.T) {
	baseline := runtime.NumGoroutine()
	dir := t.TempDir()
	p := New(dir, WithMaxPerAction(2))
	spec := testSpec("guest/close@0.0.1")

	spawnAct := testAct(`{"op":"spawn"}`)
	spawnAct.Namespace = "alice" // so that the next activation needs a second process
	spawned := decode(t, p.Run(t.Context(), spec, spawnAct))
	idlePID, childPID := int(spawned["pid"].(float64)), int(spawned["child"].(float64))
	require.True(t, alive(childPID))

	done := make(chan Result)
	go func() { done <- p.Run(t.Context(), spec, testAct(`{"op":"sleep","sleep_ms":60000}`)) }()
	require.Eventually(t, func() bool { return len(pids(p)) == 2 && busy(p) == 1 }, 10*time.Second, 5*time.Millisecond)
	all := pids(p)

	require.NoError(t, p.Close())

	r := <-done
	assert.Equal(t, InternalError, r.Status)
	assert.Equal(t, msgRunnerClosed, errorOf(t, r))
	assert.Contains(t, all, idlePID)
	for _, pid := range all {
		assert.False(t, alive(pid), "process %d survived Close", pid)
	}
	assert.False(t, alive(childPID), "a process started by the action survived Close")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "Close removes the unpacked code")

	after := p.Run(t.Context(), spec, testAct(`{}`))
	assert.Equal(t, InternalError, after.Status)
	require.NoError(t, p.Close(), "Close is idempotent")
	requireNoLeak(t, baseline)
}

// requireNoLeak fails unless the number of goroutines comes back to baseline.
// It polls by hand: assertion helpers that run their condition in a goroutine
// would count themselves.
func requireNoLeak(t *testing.T, baseline int) {
	t.Helper()
	for range 500 {
		if runtime.NumGoroutine() <= baseline {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
}

func TestConcurrentUse(t *testing.T) {
	baseline := runtime.NumGoroutine()
	p := New(t.TempDir(), WithMaxPerAction(2), WithIdleTimeout(50*time.Millisecond))
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			spec := testSpec(fmt.Sprintf("guest/many@0.0.%d", i%3))
			for j := range 4 {
				v := fmt.Sprintf(`{"op":"log","stdout":["%d-%d"]}`, i, j)
				r := p.Run(t.Context(), spec, testAct(v))
				if assert.Equal(t, Success, r.Status, "%s", r.Response) {
					own := slices.DeleteFunc(texts(r.Logs), func(l string) bool { return l == "stdout: init output" })
					assert.Equal(t, []string{fmt.Sprintf("stdout: %d-%d", i, j)}, own, "logs of another activation")
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Close())
	requireNoLeak(t, baseline)
}

func TestBadInput(t *testing.T) {
	p := newPool(t, WithMaxPerAction(1))
	spec := testSpec("guest/input@0.0.1")
	pid := pidOf(t, p.Run(t.Context(), spec, testAct(`{"op":"pid"}`)))

	tests := []struct {
		name    string
		spec    Spec
		value   string
		message string
	}{
		{"value not JSON", spec, `{"op":`, "Activation.Value is not valid JSON"},
		{"no key", Spec{Code: actionZip}, `{}`, "Spec.Key is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := p.Run(t.Context(), tc.spec, testAct(tc.value))
			assert.Equal(t, InternalError, r.Status)
			assert.Contains(t, errorOf(t, r), tc.message)
		})
	}
	assert.Equal(t, pid, pidOf(t, p.Run(t.Context(), spec, testAct(`{"op":"pid"}`))), "the process is not disturbed")
}
