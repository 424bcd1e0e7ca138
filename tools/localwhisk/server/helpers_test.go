package server_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/runner"
	"github.com/whiskfeed/whiskfeed/tools/localwhisk/server"
)

// actionZip is the base64 zip of testdata/action, built once in TestMain.
var actionZip string

const (
	guest = server.GuestAuthKey
	sys   = server.WhiskSystemAuthKey
	alice = "11111111-2222-3333-4444-555555555555:alic3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwPX"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "localwhisk-server-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		if err := buildActionZip(dir); err != nil {
			fmt.Fprintln(os.Stderr, "build test action:", err)
			return 1
		}
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildActionZip(dir string) error {
	bin := filepath.Join(dir, "exec")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/action")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "exec", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(exe); err != nil {
		return err
	}
	w, err = zw.Create("exec.env")
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte("openwhisk/action-golang-v1.24\n")); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	actionZip = base64.StdEncoding.EncodeToString(buf.Bytes())
	return nil
}

// env is one running server with a real process pool.
type env struct {
	t    *testing.T
	srv  *server.Server
	url  string
	logs *lockedBuffer
}

func aliceIdentity(t *testing.T) server.Identity {
	id, err := server.ParseIdentity("alice", alice)
	require.NoError(t, err)
	return id
}

// newEnv starts a server (guest, whisk.system and alice) on a random port.
func newEnv(t *testing.T, tweak ...func(*server.Config)) *env {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	pool := runner.New(t.TempDir())
	logs := &lockedBuffer{}
	cfg := server.Config{
		Executor:   pool,
		APIHost:    "http://" + ts.Listener.Addr().String(),
		Identities: append(server.DefaultIdentities(), aliceIdentity(t)),
		Logger:     slog.New(slog.NewJSONHandler(logs, nil)),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	srv, err := server.New(cfg)
	require.NoError(t, err)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		require.NoError(t, srv.Close())
		require.NoError(t, pool.Close())
	})
	return &env{t: t, srv: srv, url: ts.URL, logs: logs}
}

// response is what a request returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

func (r response) list(t *testing.T) []any {
	t.Helper()
	var l []any
	require.NoError(t, json.Unmarshal(r.body, &l), "body: %s", r.body)
	return l
}

// errMsg returns the "error" of an API error body, checking it has a code.
func (r response) errMsg(t *testing.T) string {
	t.Helper()
	m := r.obj(t)
	require.Contains(t, m, "code", "API errors carry a transaction id: %s", r.body)
	return m["error"].(string)
}

// do sends a request; body may be nil, []byte (sent as is) or a value
// marshalled to JSON. auth "" sends no credentials.
func (e *env) do(method, path, auth string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	require.NoError(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(auth)))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// must sends a request and requires the status.
func (e *env) must(status int, method, path, auth string, body any) response {
	e.t.Helper()
	r := e.do(method, path, auth, body)
	require.Equal(e.t, status, r.status, "%s %s: %s", method, path, r.body)
	return r
}

func kv(k string, v any) map[string]any { return map[string]any{"key": k, "value": v} }

// codeAction is a PUT body for the test action.
func codeAction(extra map[string]any) map[string]any {
	b := map[string]any{"exec": map[string]any{"kind": "go:1.24", "code": actionZip, "binary": true}}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// createAction creates ns/path with the test action's code.
func (e *env) createAction(auth, ns, path string, extra map[string]any) map[string]any {
	e.t.Helper()
	return e.must(http.StatusOK, http.MethodPut, "/api/v1/namespaces/"+ns+"/actions/"+path, auth, codeAction(extra)).obj(e.t)
}

// activation polls for an activation record until it is stored.
func (e *env) activation(auth, ns, id string) map[string]any {
	e.t.Helper()
	var m map[string]any
	require.Eventually(e.t, func() bool {
		r := e.do(http.MethodGet, "/api/v1/namespaces/"+ns+"/activations/"+id, auth, nil)
		if r.status != http.StatusOK {
			return false
		}
		m = r.obj(e.t)
		return true
	}, 20*time.Second, 10*time.Millisecond, "activation %s never stored", id)
	return m
}

// annotation finds key in a JSON key/value list.
func annotation(list any, key string) (any, bool) {
	for _, x := range list.([]any) {
		m := x.(map[string]any)
		if m["key"] == key {
			return m["value"], true
		}
	}
	return nil, false
}

// lockedBuffer collects the server log for assertions.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func jsonReader(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return bytes.NewReader(b)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
