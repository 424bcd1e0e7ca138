package runtime_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/runtime"
)

// clearOWEnv registers the __OW_* variables Serve sets, so that they are
// restored after the test.
func clearOWEnv(t *testing.T) {
	for _, k := range []string{"__OW_ACTION_NAME", "__OW_ACTION_VERSION", "__OW_NAMESPACE", "__OW_ACTIVATION_ID",
		"__OW_TRANSACTION_ID", "__OW_DEADLINE", "__OW_API_KEY", "__OW_API_HOST"} {
		t.Setenv(k, "")
	}
}

// serveLines runs Serve over the given input and returns the output lines
// (the ack first) and Serve's error.
func serveLines(t *testing.T, h runtime.Handler, input string) ([]string, error) {
	t.Helper()
	clearOWEnv(t)
	var out bytes.Buffer
	err := runtime.Serve(t.Context(), h, strings.NewReader(input), &out, runtime.WithLogOutput(io.Discard))
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"), err
}

func returning(v any, err error) runtime.Handler {
	return runtime.HandlerFunc(func(context.Context, json.RawMessage) (any, error) { return v, err })
}

func TestServeResults(t *testing.T) {
	big := func(n int) map[string]string { return map[string]string{"d": strings.Repeat("x", n-8)} } // {"d":"…"} is n bytes
	tests := []struct {
		name    string
		handler runtime.Handler
		want    string
	}{
		{"object", returning(map[string]int{"a": 1}, nil), `{"a":1}`},
		{"array", returning([]int{1, 2}, nil), `[1,2]`},
		{"nil is an empty object", returning(nil, nil), `{}`},
		{"typed nil is an empty object", returning((*struct{})(nil), nil), `{}`},
		{"raw JSON is compacted to one line", returning(json.RawMessage("{\n  \"a\": \"x\\ny\"\n}"), nil), `{"a":"x\ny"}`},
		{"HTML is not escaped", returning(map[string]string{"h": "<a&b>"}, nil), `{"h":"<a&b>"}`},
		{"string is rejected", returning("hi", nil), `{"error":"encode result: expected a JSON object or array, got a string"}`},
		{"number is rejected", returning(42, nil), `{"error":"encode result: expected a JSON object or array, got a number"}`},
		{"unencodable", returning(map[string]any{"f": func() {}}, nil), `{"error":"encode result: json: unsupported type: func()"}`},
		{"handler error", returning(nil, errors.New("list bucket \"b\": access denied")), `{"error":"list bucket \"b\": access denied"}`},
		{"typed error has no status in plain results", returning(nil, runtime.Errorf(http.StatusNotFound, "trigger %q not found", "t")), `{"error":"trigger \"t\" not found"}`},
		{"result at the limit", returning(big(runtime.MaxResultSize), nil), ""},
		{"result over the limit", returning(big(runtime.MaxResultSize+1), nil),
			`{"error":"encode result: result is 1048577 bytes, larger than the limit of 1048576 bytes"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := serveLines(t, tc.handler, `{"value":{}}`+"\n")
			require.NoError(t, err)
			require.Len(t, lines, 2)
			assert.Equal(t, `{"ok":true}`, lines[0])
			if tc.want == "" {
				assert.Len(t, lines[1], runtime.MaxResultSize)
				assert.NotContains(t, lines[1], `"error"`)
				return
			}
			assert.Equal(t, tc.want, lines[1])
		})
	}
}

func TestServeMalformedInput(t *testing.T) {
	tests := []struct {
		name string
		line string
		want string
	}{
		{"not JSON", `hello`, "decode activation input: invalid character 'h'"},
		{"truncated", `{"value":`, "decode activation input: unexpected end of JSON input"},
		{"null", `null`, "decode activation input: expected a JSON object, got null"},
		{"array", `[1]`, "decode activation input: json: cannot unmarshal array"},
		{"empty line", ``, "decode activation input: unexpected end of JSON input"},
		{"bad deadline", `{"deadline":"tomorrow"}`, `decode activation input: deadline "tomorrow": expected epoch milliseconds`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			h := runtime.HandlerFunc(func(context.Context, json.RawMessage) (any, error) { calls++; return nil, nil })
			lines, err := serveLines(t, h, tc.line+"\n"+`{"value":{}}`+"\n")
			require.NoError(t, err)
			require.Len(t, lines, 3, "one result per line")
			var res map[string]string
			require.NoError(t, json.Unmarshal([]byte(lines[1]), &res))
			assert.Contains(t, res["error"], tc.want)
			assert.Equal(t, `{}`, lines[2], "next activation still served")
			assert.Equal(t, 1, calls)
		})
	}
}

func TestServeActivationContext(t *testing.T) {
	clearOWEnv(t)
	t.Setenv("__OW_API_HOST", "https://container.example")
	deadline := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	var logs bytes.Buffer
	type seen struct {
		act      runtime.Activation
		ok       bool
		deadline time.Time
		envID    string
		envKey   string
		params   string
	}
	var got []seen
	h := runtime.HandlerFunc(func(ctx context.Context, params json.RawMessage) (any, error) {
		act, ok := runtime.ActivationFrom(ctx)
		d, _ := ctx.Deadline()
		got = append(got, seen{act, ok, d, os.Getenv("__OW_ACTIVATION_ID"), os.Getenv("__OW_API_KEY"), string(params)})
		runtime.Logger(ctx).Info("hello", "api_key", act.APIKey)
		return nil, nil
	})
	input := fmt.Sprintf(`{"value":{"x":1},"action_name":"/ns/p/a","action_version":"0.0.2","namespace":"ns",`+
		`"activation_id":"id1","transaction_id":"tx1","deadline":"%d","api_key":"uuid:k"}`+"\n"+
		`{"activation_id":"id2","deadline":%d,"api_host":"https://line.example"}`+"\n", deadline.UnixMilli(), deadline.UnixMilli())
	err := runtime.Serve(t.Context(), h, strings.NewReader(input), io.Discard, runtime.WithLogOutput(&logs))
	require.NoError(t, err)
	require.Len(t, got, 2)

	assert.Equal(t, runtime.Activation{
		ActionName: "/ns/p/a", ActionVersion: "0.0.2", Namespace: "ns", ActivationID: "id1", TransactionID: "tx1",
		APIHost: "https://container.example", APIKey: "uuid:k", Deadline: deadline,
	}, got[0].act, "api host falls back to __OW_API_HOST")
	assert.True(t, got[0].ok)
	assert.True(t, deadline.Equal(got[0].deadline), "context expires at the deadline")
	assert.Equal(t, "id1", got[0].envID)
	assert.Equal(t, "uuid:k", got[0].envKey)
	assert.JSONEq(t, `{"x":1}`, got[0].params)

	assert.Equal(t, "id2", got[1].act.ActivationID)
	assert.Equal(t, "https://line.example", got[1].act.APIHost, "api_host of the line wins")
	assert.True(t, deadline.Equal(got[1].deadline), "numeric deadline accepted")
	assert.Equal(t, "id2", got[1].envID)
	assert.JSONEq(t, `{}`, got[1].params, "missing value is an empty object")

	sc := bufio.NewScanner(&logs)
	var ids []string
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec))
		assert.Equal(t, "[REDACTED]", rec["api_key"])
		ids = append(ids, fmt.Sprint(rec["activation_id"]))
	}
	assert.Equal(t, []string{"id1", "id2"}, ids)
	assert.NotContains(t, logs.String(), "uuid:k")
}

func TestServeDeadline(t *testing.T) {
	past := strconv.FormatInt(time.Now().Add(-time.Second).UnixMilli(), 10)
	tests := []struct {
		name    string
		handler runtime.Handler
		want    string
	}{
		{
			name: "handler returns ctx.Err",
			handler: runtime.HandlerFunc(func(ctx context.Context, _ json.RawMessage) (any, error) {
				<-ctx.Done()
				return nil, fmt.Errorf("poll: %w", ctx.Err())
			}),
			want: `{"error":"poll: context deadline exceeded"}`,
		},
		{
			name: "handler hides the cause",
			handler: runtime.HandlerFunc(func(ctx context.Context, _ json.RawMessage) (any, error) {
				<-ctx.Done()
				return nil, errors.New("poll: gave up")
			}),
			want: `{"error":"poll: gave up (context deadline exceeded)"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := serveLines(t, tc.handler, `{"deadline":"`+past+`"}`+"\n")
			require.NoError(t, err)
			require.Len(t, lines, 2)
			assert.Equal(t, tc.want, lines[1])
		})
	}
}

func TestServePanic(t *testing.T) {
	calls := 0
	h := runtime.HandlerFunc(func(context.Context, json.RawMessage) (any, error) {
		calls++
		panic(fmt.Sprintf("bad state %d", calls))
	})
	lines, err := serveLines(t, h, `{"activation_id":"a"}`+"\n"+`{"activation_id":"b"}`+"\n")
	require.ErrorIs(t, err, runtime.ErrPanic)
	assert.Equal(t, []string{`{"ok":true}`, `{"error":"action panicked: bad state 1"}`}, lines)
	assert.Equal(t, 1, calls, "no activation after a panic")
}

func TestServePipes(t *testing.T) {
	clearOWEnv(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	count := 0
	h := runtime.Typed(func(_ context.Context, in struct{ N int }) (map[string]int, error) {
		count += in.N
		return map[string]int{"total": count}, nil
	})
	done := make(chan error, 1)
	go func() { done <- runtime.Serve(t.Context(), h, inR, outW, runtime.WithLogOutput(io.Discard)) }()
	results := bufio.NewReader(outR)
	read := func() string {
		line, err := results.ReadString('\n')
		require.NoError(t, err)
		return line
	}
	assert.Equal(t, "{\"ok\":true}\n", read())
	for _, tc := range []struct{ n, total int }{{2, 2}, {3, 5}} {
		_, err := fmt.Fprintf(inW, `{"value":{"N":%d}}`+"\n", tc.n)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf(`{"total":%d}`+"\n", tc.total), read(), "one line out per line in, state kept")
	}
	require.NoError(t, inW.Close())
	require.NoError(t, <-done, "EOF ends Serve cleanly")
}

func TestServeEnds(t *testing.T) {
	t.Run("last line without newline", func(t *testing.T) {
		lines, err := serveLines(t, returning(map[string]int{"a": 1}, nil), `{"value":{}}`)
		require.NoError(t, err)
		assert.Equal(t, []string{`{"ok":true}`, `{"a":1}`}, lines)
	})
	t.Run("canceled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var out bytes.Buffer
		err := runtime.Serve(ctx, returning(nil, nil), strings.NewReader(`{}`+"\n"), &out, runtime.WithLogOutput(io.Discard))
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, "{\"ok\":true}\n", out.String())
	})
	t.Run("result channel closed", func(t *testing.T) {
		r, w := io.Pipe()
		require.NoError(t, r.Close())
		err := runtime.Serve(t.Context(), returning(nil, nil), strings.NewReader(`{}`+"\n"), w, runtime.WithLogOutput(io.Discard))
		require.ErrorIs(t, err, io.ErrClosedPipe)
	})
	t.Run("nil handler", func(t *testing.T) {
		err := runtime.Serve(t.Context(), nil, strings.NewReader(""), io.Discard)
		require.Error(t, err)
	})
}

func TestTypedDecodeErrors(t *testing.T) {
	type params struct {
		Bucket   string `json:"bucket"`
		Interval int    `json:"interval"`
	}
	h := runtime.Typed(func(_ context.Context, p params) (params, error) { return p, nil })
	tests := []struct {
		name    string
		params  string
		want    params
		wantErr string
	}{
		{"decoded, unknown ignored", `{"bucket":"b","interval":5,"__ow_headers":{}}`, params{"b", 5}, ""},
		{"empty", `{}`, params{}, ""},
		{"null", `null`, params{}, ""},
		{"wrong type names the parameter", `{"interval":"5"}`, params{}, `invalid parameter "interval": expected int, got string`},
		{"array instead of object", `[1]`, params{}, `decode parameters: expected runtime_test.params, got array`},
		{"syntax", `{"bucket":`, params{}, `decode parameters: unexpected end of JSON input`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Invoke(t.Context(), json.RawMessage(tc.params))
			if tc.wantErr != "" {
				var rerr *runtime.Error
				require.ErrorAs(t, err, &rerr)
				assert.Equal(t, http.StatusBadRequest, rerr.Status)
				assert.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
