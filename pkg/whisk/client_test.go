package whisk_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

func TestNewRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, host, key, wantParam string
	}{
		{"empty host", "", testKey, "apiHost"},
		{"ftp scheme", "ftp://example.com", testKey, "apiHost"},
		{"scheme without host", "http://", testKey, "apiHost"},
		{"key without colon", "example.com", "nocolon", "authKey"},
		{"key without secret", "example.com", "uuid:", "authKey"},
		{"empty key", "example.com", "", "authKey"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := whisk.New(tc.host, tc.key)
			require.Error(t, err)
			assert.ErrorContains(t, err, tc.wantParam)
		})
	}
}

func TestNewNormalizesHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"openwhisk.example.com", "https://openwhisk.example.com"},
		{"127.0.0.1:3233", "https://127.0.0.1:3233"},
		{"http://127.0.0.1:3233", "http://127.0.0.1:3233"},
		{"http://127.0.0.1:3233/", "http://127.0.0.1:3233"},
		{"https://ow.example.com/api/v1", "https://ow.example.com"},
		{"https://ow.example.com/proxy/", "https://ow.example.com/proxy"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			c, err := whisk.New(tc.in, testKey)
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.APIHost())
		})
	}
}

func TestHostWithoutSchemeSpeaksHTTPS(t *testing.T) {
	var sawTLS atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawTLS.Store(r.TLS != nil)
		reply(http.StatusOK, []string{"guest"})(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	c, err := whisk.New(host, testKey, whisk.WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	ns, err := c.Namespace(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "guest", ns)
	assert.True(t, sawTLS.Load())
}

func TestRequestHeaders(t *testing.T) {
	f := newFake(t)
	f.on("PUT /api/v1/namespaces/_/triggers/t", reply(http.StatusOK, map[string]any{"name": "t"}))
	f.on("GET /api/v1/namespaces/_/triggers/t", reply(http.StatusOK, map[string]any{"name": "t"}))
	c := f.client(t, whisk.WithUserAgent("whiskfeed-test/9"))

	_, err := c.PutTrigger(t.Context(), whisk.QName{Name: "t"}, whisk.Trigger{}, whisk.Overwrite)
	require.NoError(t, err)
	_, err = c.Trigger(t.Context(), whisk.QName{Name: "t"})
	require.NoError(t, err)

	reqs := f.requests()
	require.Len(t, reqs, 2)
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testKey))
	for _, r := range reqs {
		assert.Equal(t, wantAuth, r.Header.Get("Authorization"))
		assert.Equal(t, "whiskfeed-test/9", r.Header.Get("User-Agent"))
	}
	assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))
	assert.Empty(t, reqs[1].Header.Get("Content-Type"), "no body, no content type")
}

func TestWrongKeyIsUnauthorized(t *testing.T) {
	f := newFake(t)
	c, err := whisk.New(f.srv.URL, "uuid:wrong", whisk.WithRetry(fastRetry))
	require.NoError(t, err)
	_, err = c.Trigger(t.Context(), whisk.QName{Name: "t"})
	assert.Equal(t, http.StatusUnauthorized, whisk.HTTPStatus(err))
	assert.Len(t, f.requests(), 1, "401 is not retried")
}

func TestNamespaceInPaths(t *testing.T) {
	tests := []struct {
		name   string
		opts   []whisk.Option
		call   func(*whisk.Client) error
		wantIn string
	}{
		{"default namespace", nil, getTrigger("t"), "/api/v1/namespaces/_/triggers/t"},
		{"configured namespace", []whisk.Option{whisk.WithNamespace("guest")}, getTrigger("t"), "/api/v1/namespaces/guest/triggers/t"},
		{"explicit underscore", []whisk.Option{whisk.WithNamespace("guest")}, getTrigger("/_/t"), "/api/v1/namespaces/_/triggers/t"},
		{"explicit namespace", nil, getTrigger("/other/t"), "/api/v1/namespaces/other/triggers/t"},
		{"packaged action", nil, func(c *whisk.Client) error {
			_, err := c.Action(context.Background(), whisk.MustParseQName("pkg/a"), true)
			return err
		}, "/api/v1/namespaces/_/actions/pkg/a"},
		{"qualified packaged action", nil, func(c *whisk.Client) error {
			_, err := c.Action(context.Background(), whisk.MustParseQName("/whisk.system/alarms/alarm"), true)
			return err
		}, "/api/v1/namespaces/whisk.system/actions/alarms/alarm"},
		{"package", nil, func(c *whisk.Client) error {
			_, err := c.Package(context.Background(), whisk.MustParseQName("/_/s3"))
			return err
		}, "/api/v1/namespaces/_/packages/s3"},
		{"rule", nil, func(c *whisk.Client) error {
			_, err := c.Rule(context.Background(), whisk.MustParseQName("r"))
			return err
		}, "/api/v1/namespaces/_/rules/r"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			err := tc.call(f.client(t, tc.opts...))
			require.True(t, whisk.IsNotFound(err), "fake answers 404: %v", err)
			reqs := f.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tc.wantIn, reqs[0].Path)
		})
	}
}

func getTrigger(name string) func(*whisk.Client) error {
	return func(c *whisk.Client) error {
		_, err := c.Trigger(context.Background(), whisk.MustParseQName(name))
		return err
	}
}

func TestNamesAreEscaped(t *testing.T) {
	const name = "my trigger@home&away"
	f := newFake(t)
	var got atomic.Value
	f.on("POST /api/v1/namespaces/_/triggers/{name}", func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.PathValue("name"))
		reply(http.StatusAccepted, map[string]any{"activationId": "0123456789abcdef0123456789abcdef"})(w, r)
	})
	f.on("GET /api/v1/namespaces/_/actions/{pkg}/{name}", reply(http.StatusOK, map[string]any{"name": "a b"}))
	c := f.client(t)

	_, err := c.FireTrigger(t.Context(), whisk.QName{Name: name}, nil)
	require.NoError(t, err)
	_, err = c.Action(t.Context(), whisk.QName{Package: "p&q", Name: "a b"}, false)
	require.NoError(t, err)

	assert.Equal(t, name, got.Load())
	reqs := f.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/api/v1/namespaces/_/triggers/my%20trigger%40home%26away", reqs[0].RawPath)
	assert.Equal(t, "/api/v1/namespaces/_/actions/p%26q/a%20b", reqs[1].RawPath)
	assert.Equal(t, "/api/v1/namespaces/_/actions/p&q/a b", reqs[1].Path)
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		status       int
		msg          string
		notFound     bool
		conflict     bool
		wantAttempts int
	}{
		{http.StatusBadRequest, "The request content was malformed.", false, false, 1},
		{http.StatusForbidden, "The supplied authentication is not authorized to access this resource.", false, false, 1},
		{http.StatusNotFound, "The requested resource does not exist.", true, false, 1},
		{http.StatusConflict, "resource already exists", false, true, 1},
		{http.StatusRequestEntityTooLarge, "Request larger than allowed: 2000000 > 1048576 bytes.", false, false, 1},
		{http.StatusNotImplemented, "not implemented", false, false, 1},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			f := newFake(t)
			f.on("PUT /api/v1/namespaces/_/triggers/t", apiError(tc.status, tc.msg))
			_, err := f.client(t).PutTrigger(t.Context(), whisk.QName{Name: "t"}, whisk.Trigger{}, whisk.Overwrite)
			var apiErr *whisk.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.Equal(t, tc.msg, apiErr.Message)
			assert.Equal(t, "4a1b2c3d4e5f60718293a4b5c6d7e8f9", apiErr.Code)
			assert.Equal(t, tc.status, whisk.HTTPStatus(err))
			assert.Equal(t, tc.notFound, whisk.IsNotFound(err))
			assert.Equal(t, tc.conflict, whisk.IsConflict(err))
			assert.Len(t, f.requests(), tc.wantAttempts, "not retried")
		})
	}
}

func TestErrorBodyFromProxy(t *testing.T) {
	f := newFake(t)
	html := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	}
	f.on("GET /api/v1/namespaces/_/triggers/t", html)
	f.on("POST /api/v1/namespaces/_/actions/a", html)
	c := f.client(t, whisk.WithRetry(whisk.NoRetry()))

	_, err := c.Trigger(t.Context(), whisk.QName{Name: "t"})
	var apiErr *whisk.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadGateway, apiErr.StatusCode)
	assert.Equal(t, "<html>bad gateway</html>", apiErr.Message)

	_, err = c.InvokeResult(t.Context(), whisk.QName{Name: "a"}, nil)
	require.ErrorAs(t, err, &apiErr, "a non-JSON 502 is not an action error")
	var actErr *whisk.ActionError
	assert.False(t, errors.As(err, &actErr))
}

func TestFireTrigger(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantID  string
		wantErr int
	}{
		{"active rules", withActivationID(id, reply(http.StatusAccepted, map[string]any{"activationId": id})), id, 0},
		{"no active rule", reply(http.StatusNoContent, nil), "", 0},
		{"missing trigger", apiError(http.StatusNotFound, "The requested resource does not exist."), "", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.on("POST /api/v1/namespaces/_/triggers/t", tc.handler)
			got, err := f.client(t).FireTrigger(t.Context(), whisk.QName{Name: "t"}, map[string]any{"bucket": "b", "n": 1})
			if tc.wantErr != 0 {
				var apiErr *whisk.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tc.wantErr, apiErr.StatusCode)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.wantID, got)
			reqs := f.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, map[string]any{"bucket": "b", "n": float64(1)}, reqs[0].bodyMap(t))
		})
	}
}

func TestFireRejectsNonObjectPayload(t *testing.T) {
	f := newFake(t)
	_, err := f.client(t).FireTrigger(t.Context(), whisk.QName{Name: "t"}, []int{1})
	require.Error(t, err)
	assert.ErrorContains(t, err, "params must encode to a JSON object")
	assert.Empty(t, f.requests())
}

func TestRetries(t *testing.T) {
	ok := func(kind string) http.HandlerFunc {
		switch kind {
		case "fire":
			return reply(http.StatusAccepted, map[string]any{"activationId": "0123456789abcdef0123456789abcdef"})
		case "invoke":
			return reply(http.StatusOK, map[string]any{"ok": true})
		default:
			return reply(http.StatusOK, map[string]any{"name": "t"})
		}
	}
	routes := map[string]string{
		"get":    "GET /api/v1/namespaces/_/triggers/t",
		"fire":   "POST /api/v1/namespaces/_/triggers/t",
		"invoke": "POST /api/v1/namespaces/_/actions/a",
		"create": "PUT /api/v1/namespaces/_/triggers/t",
	}
	run := map[string]func(context.Context, *whisk.Client) error{
		"get": func(ctx context.Context, c *whisk.Client) error {
			_, err := c.Trigger(ctx, whisk.QName{Name: "t"})
			return err
		},
		"fire": func(ctx context.Context, c *whisk.Client) error {
			_, err := c.FireTrigger(ctx, whisk.QName{Name: "t"}, nil)
			return err
		},
		"invoke": func(ctx context.Context, c *whisk.Client) error {
			_, err := c.InvokeResult(ctx, whisk.QName{Name: "a"}, nil)
			return err
		},
		"create": func(ctx context.Context, c *whisk.Client) error {
			_, err := c.PutTrigger(ctx, whisk.QName{Name: "t"}, whisk.Trigger{}, whisk.CreateOnly)
			return err
		},
	}
	appErr := reply(http.StatusBadGateway, activation("0123456789abcdef0123456789abcdef", whisk.StatusApplicationError, map[string]any{"error": "boom"}))
	tests := []struct {
		name      string
		kind      string
		responses []int // statuses answered before success; -1 is an application error
		wantCalls int
		wantErr   int // 0: success expected
	}{
		{"get after 429 and 503", "get", []int{429, 503}, 3, 0},
		{"fire after 429 and 503", "fire", []int{429, 503}, 3, 0},
		{"invoke after 429 and 503", "invoke", []int{429, 503}, 3, 0},
		{"get after 500 and 504", "get", []int{500, 504}, 3, 0},
		{"fire not after 500", "fire", []int{500}, 1, 500},
		{"invoke not after 504", "invoke", []int{504}, 1, 504},
		{"create not after 502", "create", []int{502}, 1, 502},
		{"create after 503", "create", []int{503}, 2, 0},
		{"get not after 501", "get", []int{501}, 1, 501},
		{"get not after 400", "get", []int{400}, 1, 400},
		{"get not after 404", "get", []int{404}, 1, 404},
		{"fire not after 404", "fire", []int{404}, 1, 404},
		{"get not after 409", "get", []int{409}, 1, 409},
		{"invoke not after application error", "invoke", []int{-1}, 1, 502},
		{"get gives up after max attempts", "get", []int{503, 503, 503, 503, 503}, 4, 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			var hs []http.HandlerFunc
			for _, s := range tc.responses {
				if s == -1 {
					hs = append(hs, appErr)
					continue
				}
				hs = append(hs, apiError(s, http.StatusText(s)))
			}
			f.on(routes[tc.kind], sequence(append(hs, ok(tc.kind))...))
			err := run[tc.kind](t.Context(), f.client(t))
			if tc.wantErr == 0 {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Equal(t, tc.wantErr, whisk.HTTPStatus(err))
			}
			assert.Len(t, f.requests(), tc.wantCalls)
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	f := newFake(t)
	f.on("POST /api/v1/namespaces/_/triggers/t", apiError(http.StatusServiceUnavailable, "System is overloaded."))
	c := f.client(t, whisk.WithRetry(whisk.RetryPolicy{MaxAttempts: 0, BaseDelay: 2 * time.Millisecond, MaxDelay: 10 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()

	_, err := c.FireTrigger(ctx, whisk.QName{Name: "t"}, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var apiErr *whisk.APIError
	require.ErrorAs(t, err, &apiErr, "the last failure is wrapped")
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
	assert.Greater(t, len(f.requests()), 1, "retried until the context ended")
}

func TestTimeoutMidRequest(t *testing.T) {
	// The first request hangs until the client gives up; later ones succeed.
	hangOnce := func(ok http.HandlerFunc) http.HandlerFunc {
		var n atomic.Int32
		return func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return
			}
			ok(w, r)
		}
	}
	tests := []struct {
		name      string
		route     string
		call      func(context.Context, *whisk.Client) error
		wantCalls int
		wantOK    bool
	}{
		{"get is retried", "GET /api/v1/namespaces/_/triggers/t", func(ctx context.Context, c *whisk.Client) error {
			_, err := c.Trigger(ctx, whisk.QName{Name: "t"})
			return err
		}, 2, true},
		{"invoke is not retried", "POST /api/v1/namespaces/_/actions/a", func(ctx context.Context, c *whisk.Client) error {
			_, err := c.InvokeResult(ctx, whisk.QName{Name: "a"}, nil)
			return err
		}, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.on(tc.route, hangOnce(reply(http.StatusOK, map[string]any{"name": "t"})))
			c := f.client(t, whisk.WithHTTPClient(&http.Client{Timeout: 500 * time.Millisecond}))
			err := tc.call(t.Context(), c)
			if tc.wantOK {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, context.DeadlineExceeded, "the per-request timeout")
			}
			assert.Len(t, f.requests(), tc.wantCalls)
		})
	}
}

func TestConnectionRefusedIsRetriedForFire(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	var dials atomic.Int32
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			dials.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, a)
		},
	}
	c, err := whisk.New("http://"+addr, testKey, whisk.WithRetry(fastRetry), whisk.WithHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, err)
	_, err = c.FireTrigger(t.Context(), whisk.QName{Name: "t"}, nil)
	require.Error(t, err)
	assert.Equal(t, int32(fastRetry.MaxAttempts), dials.Load(), "a refused connection never reached the server, so a fire may be repeated")
}
