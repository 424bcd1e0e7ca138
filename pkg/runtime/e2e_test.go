package runtime_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests in this file build internal/testaction once and drive it as the
// actionloop proxy does: stdin for activations, fd 3 for the ack and results,
// an explicit environment.

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func testActionBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "runtime-testaction-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "exec")
		cmd := exec.Command("go", "build", "-o", binPath, "./internal/testaction")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build testaction: %w\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

// lockedBuffer collects a child's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type action struct {
	t       *testing.T
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	results *bufio.Reader
	stdout  *lockedBuffer
	stderr  *lockedBuffer
	once    sync.Once
	waitErr error
}

// startAction starts the test action with exactly env as its environment
// and checks the ack.
func startAction(t *testing.T, env ...string) *action {
	t.Helper()
	bin := testActionBinary(t)
	r3, w3, err := os.Pipe()
	require.NoError(t, err)
	a := &action{t: t, cmd: exec.Command(bin), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	a.cmd.Env = append([]string{}, env...)
	a.cmd.ExtraFiles = []*os.File{w3}
	a.cmd.Stdout = a.stdout
	a.cmd.Stderr = a.stderr
	a.stdin, err = a.cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, a.cmd.Start())
	require.NoError(t, w3.Close())
	a.results = bufio.NewReader(r3)
	t.Cleanup(func() {
		_ = a.wait()
		_ = r3.Close()
	})
	assert.Equal(t, `{"ok":true}`, a.readLine(), "ack on fd 3")
	return a
}

func (a *action) readLine() string {
	a.t.Helper()
	line, err := a.results.ReadString('\n')
	require.NoError(a.t, err, "read fd 3; stderr:\n%s", a.stderr.String())
	return strings.TrimSuffix(line, "\n")
}

// send writes one line and returns the decoded result line.
func (a *action) send(line string) map[string]any {
	a.t.Helper()
	_, err := io.WriteString(a.stdin, line+"\n")
	require.NoError(a.t, err)
	out := a.readLine()
	require.NotContains(a.t, out, "\n")
	var v map[string]any
	require.NoError(a.t, json.Unmarshal([]byte(out), &v), "result %q", out)
	return v
}

// wait closes stdin and waits for the process to exit.
func (a *action) wait() error {
	a.once.Do(func() {
		_ = a.stdin.Close()
		a.waitErr = a.cmd.Wait()
	})
	return a.waitErr
}

// activation returns an activation line as the proxy writes it.
func activation(id string, value any, deadline time.Time, extra ...string) string {
	m := map[string]any{
		"value":          value,
		"action_name":    "/guest/pkg/testaction",
		"action_version": "0.0.1",
		"namespace":      "guest",
		"activation_id":  id,
		"transaction_id": "tx-" + id,
	}
	if !deadline.IsZero() {
		m["deadline"] = strconv.FormatInt(deadline.UnixMilli(), 10)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestActionTwoActivationsOneProcess(t *testing.T) {
	a := startAction(t, "__OW_API_HOST=https://whisk.example")
	deadline := time.Now().Add(time.Minute)

	first := a.send(activation("a1", map[string]any{"op": "echo"}, deadline, "api_key", "uuid:key123"))
	second := a.send(activation("b2", map[string]any{"op": "echo"}, deadline))

	for i, tc := range []struct {
		got    map[string]any
		id     string
		count  float64
		keyLen float64
	}{{first, "a1", 1, 11}, {second, "b2", 2, 0}} {
		t.Run(tc.id, func(t *testing.T) {
			require.NotContains(t, tc.got, "error")
			assert.Equal(t, tc.count, tc.got["count"], "state kept between activations")
			assert.Equal(t, tc.id, tc.got["env_activation_id"], "__OW_ACTIVATION_ID refreshed")
			assert.Equal(t, strconv.FormatInt(deadline.UnixMilli(), 10), tc.got["env_deadline"])
			assert.Equal(t, float64(deadline.UnixMilli()), tc.got["deadline_ms"])
			assert.Equal(t, true, tc.got["has_deadline"])
			assert.Equal(t, true, tc.got["activation_ok"])
			assert.Equal(t, "https://whisk.example", tc.got["env_api_host"])
			act, ok := tc.got["activation"].(map[string]any)
			require.True(t, ok, "activation %d", i)
			assert.Equal(t, tc.id, act["ActivationID"])
			assert.Equal(t, "tx-"+tc.id, act["TransactionID"])
			assert.Equal(t, "/guest/pkg/testaction", act["ActionName"])
			assert.Equal(t, "guest", act["Namespace"])
			assert.Equal(t, "https://whisk.example", act["APIHost"], "api host from the container environment")
		})
	}
	// The key given to the first activation stays in the environment (as with
	// the standard launcher) but is not part of the second one's metadata.
	assert.Equal(t, 11.0, first["api_key_len"])
	assert.Equal(t, 0.0, second["api_key_len"])
	require.NoError(t, a.wait(), "clean exit at EOF")
}

func TestActionDeadlineExpires(t *testing.T) {
	a := startAction(t)
	got := a.send(activation("d1", map[string]any{"op": "wait"}, time.Now().Add(50*time.Millisecond)))
	msg, _ := got["error"].(string)
	assert.Contains(t, msg, "wait for work: context deadline exceeded", "handler saw ctx.Done")

	after := a.send(activation("d2", map[string]any{"op": "echo"}, time.Time{}))
	assert.Equal(t, 2.0, after["count"], "process survives")
	assert.Equal(t, false, after["has_deadline"], "no deadline given, none set")
}

func TestActionErrorResults(t *testing.T) {
	a := startAction(t)
	deadline := time.Now().Add(time.Minute)
	tests := []struct {
		name string
		line string
		want string
	}{
		{"handler error", activation("e1", map[string]any{"op": "fail"}, deadline), `update record "t1": conflict`},
		{"unknown op", activation("e2", map[string]any{"op": "nope"}, deadline), `invalid parameter "op": unknown "nope"`},
		{"parameter of wrong type", activation("e3", map[string]any{"op": 5}, deadline), `invalid parameter "op": expected string, got number`},
		{"result not an object", activation("e4", map[string]any{"op": "string"}, deadline), "expected a JSON object or array, got a string"},
		{"malformed line", `{"value": {"op": "echo"`, "decode activation input"},
		{"not an object", `[1,2]`, "decode activation input"},
		{"bad deadline", `{"value":{"op":"echo"},"deadline":"soon"}`, `deadline "soon": expected epoch milliseconds`},
		{"oversized result", activation("e5", map[string]any{"op": "big", "size": 2 << 20}, deadline), "larger than the limit of 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := a.send(tc.line)
			assert.Len(t, got, 1, "only the error field: %v", got)
			assert.Contains(t, got["error"], tc.want)
		})
	}
	t.Run("process continues", func(t *testing.T) {
		got := a.send(activation("ok", map[string]any{"op": "echo"}, deadline))
		assert.NotContains(t, got, "error")
	})
	t.Run("largest allowed result", func(t *testing.T) {
		// {"data":"<n x>"} is n+11 bytes.
		got := a.send(activation("max", map[string]any{"op": "big", "size": 1048576 - 11}, deadline))
		require.NotContains(t, got, "error")
		assert.Len(t, got["data"], 1048576-11)
	})
	require.NoError(t, a.wait())
}

func TestActionPanicExitsNonZero(t *testing.T) {
	a := startAction(t)
	got := a.send(activation("p1", map[string]any{"op": "panic"}, time.Now().Add(time.Minute)))
	assert.Equal(t, map[string]any{"error": "action panicked: boom from testaction"}, got)

	err := a.wait()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	assert.NotZero(t, exitErr.ExitCode())
	assert.Contains(t, a.stderr.String(), `"stack"`, "stack trace logged")
	assert.Contains(t, a.stderr.String(), `"activation_id":"p1"`)
}

func TestActionWebRoundTrip(t *testing.T) {
	a := startAction(t)
	binary := []byte{0x00, 0xff, 0x10, 'a', 0x80}
	reversed := []byte{0x80, 'a', 0x10, 0xff, 0x00}
	tests := []struct {
		name   string
		params map[string]any
		want   map[string]any
	}{
		{
			name: "raw binary body",
			params: map[string]any{
				"__ow_method": "post", "__ow_path": "/reverse", "__ow_query": "",
				"__ow_headers": map[string]string{"content-type": "application/octet-stream"},
				"__ow_body":    base64.StdEncoding.EncodeToString(binary),
			},
			want: map[string]any{
				"statusCode": 201.0,
				"headers":    map[string]any{"Content-Type": "application/octet-stream"},
				"body":       base64.StdEncoding.EncodeToString(reversed),
			},
		},
		{
			name: "raw text body and query",
			params: map[string]any{
				"__ow_method": "put", "__ow_path": "/echo", "__ow_query": "a=1&b=2",
				"__ow_headers": map[string]string{"content-type": "text/plain"}, "__ow_body": "héllo",
				"bound": "p",
			},
			want: map[string]any{
				"statusCode": 200.0,
				"headers":    map[string]any{"Content-Type": "application/json"},
				"body": map[string]any{"method": "PUT", "path": "/echo", "query": "a=1&b=2", "body": "héllo",
					"content_type": "text/plain", "user": "", "params": map[string]any{"bound": "p"}},
			},
		},
		{
			name: "raw JSON body arrives base64",
			params: map[string]any{
				"__ow_method": "post", "__ow_path": "", "__ow_query": "",
				"__ow_headers": map[string]string{"content-type": "application/json"},
				"__ow_body":    base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)),
			},
			want: map[string]any{
				"statusCode": 200.0,
				"headers":    map[string]any{"Content-Type": "application/json"},
				"body": map[string]any{"method": "POST", "path": "", "query": "", "body": `{"a":1}`,
					"content_type": "application/json", "user": "", "params": map[string]any{}},
			},
		},
		{
			name: "non-raw JSON body merged into params",
			params: map[string]any{
				"__ow_method": "post", "__ow_path": "", "__ow_user": "guest",
				"__ow_headers": map[string]string{"content-type": "application/json"},
				"name":         "x", "n": 2,
			},
			want: map[string]any{
				"statusCode": 200.0,
				"headers":    map[string]any{"Content-Type": "application/json"},
				"body": map[string]any{"method": "POST", "path": "", "query": "", "body": "",
					"content_type": "application/json", "user": "guest", "params": map[string]any{"name": "x", "n": 2.0}},
			},
		},
		{
			name: "handler error maps to status",
			params: map[string]any{
				"__ow_method": "get", "__ow_path": "/fail", "__ow_headers": map[string]string{},
			},
			want: map[string]any{
				"statusCode": 403.0,
				"headers":    map[string]any{"Content-Type": "application/json"},
				"body":       map[string]any{"error": `check owner of trigger "t1": not allowed`},
			},
		},
		{
			name: "malformed request is a 400",
			params: map[string]any{
				"__ow_method": "get", "__ow_headers": "not a map",
			},
			want: map[string]any{
				"statusCode": 400.0,
				"headers":    map[string]any{"Content-Type": "application/json"},
				"body": map[string]any{"error": `invalid parameter "__ow_headers": ` +
					`json: cannot unmarshal string into Go value of type map[string]string`},
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := a.send(activation(fmt.Sprintf("w%d", i), tc.params, time.Now().Add(time.Minute)))
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestActionSecretsNotLogged(t *testing.T) {
	secrets := []string{"SECRETAPIKEY", "USERAUTHKEY", "S3SECRETKEY", "NESTEDPASSWORD", "BASICAUTH", "HOOKTOKEN"}
	a := startAction(t, "__OW_API_HOST=https://whisk.example")
	params := map[string]any{
		"op": "log",
		"secrets": map[string]any{
			"authKey":              "uuid:USERAUTHKEY",
			"s3_secret_access_key": "S3SECRETKEY",
			"nested":               map[string]any{"list": []any{map[string]any{"password": "NESTEDPASSWORD"}}},
			"__ow_headers":         map[string]any{"authorization": "Basic BASICAUTH"},
			"webhook_token":        "HOOKTOKEN",
			"bucket":               "visible-bucket",
		},
	}
	got := a.send(activation("s1", params, time.Now().Add(time.Minute), "api_key", "uuid:SECRETAPIKEY"))
	require.NotContains(t, got, "error")
	require.NoError(t, a.wait())

	logs, stdout := a.stderr.String(), a.stdout.String()
	for _, s := range secrets {
		assert.NotContains(t, logs, s, "stderr logs")
		assert.NotContains(t, stdout, s, "stdout")
	}
	assert.Contains(t, logs, "visible-bucket", "non-secret values still logged")
	assert.Contains(t, logs, "[REDACTED]")
	assert.Contains(t, stdout, "[REDACTED]")
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "JSON log line %q", line)
		assert.Equal(t, "s1", rec["activation_id"])
		assert.Equal(t, "/guest/pkg/testaction", rec["action"])
	}
}

func TestActionWithoutFD3(t *testing.T) {
	// Run by hand (no fd 3), results go to stdout.
	bin := testActionBinary(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{}
	cmd.Stdin = strings.NewReader(activation("h1", map[string]any{"op": "echo"}, time.Time{}) + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "stderr: %s", stderr.String())
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, `{"ok":true}`, lines[0])
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &res))
	assert.Equal(t, "h1", res["env_activation_id"])
}
