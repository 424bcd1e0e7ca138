package whisk

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// DefaultNamespace is the namespace placeholder "_": the server replaces it by
// the namespace that owns the credentials.
const DefaultNamespace = "_"

const (
	apiPath          = "/api/v1"
	defaultUserAgent = "whiskfeed-whisk/1"
	// maxResponseBytes bounds what is read from one response (the API's own
	// entity limit is 50 MB).
	maxResponseBytes = 64 << 20
)

// Client talks to one OpenWhisk API host with one set of credentials.
// It is safe for concurrent use; it holds no context.
type Client struct {
	host      string // scheme://host[:port][/prefix], no trailing slash
	authKey   string // uuid:key
	authHdr   string
	namespace string
	userAgent string
	http      *http.Client
	retry     RetryPolicy

	nsMu     sync.Mutex
	resolved string // namespace learnt from GET /namespaces
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for every request (default: a
// client without timeout; deadlines come from the request context).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithRetry sets the retry policy (default DefaultRetryPolicy).
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) { c.retry = p }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// WithNamespace sets the namespace used for names that do not carry one
// (default "_", the credentials' own namespace).
func WithNamespace(ns string) Option {
	return func(c *Client) {
		if ns != "" {
			c.namespace = ns
		}
	}
}

// New returns a client for apiHost authenticated with authKey ("uuid:key").
// apiHost may be given with a scheme ("http://127.0.0.1:3233") or without one
// ("openwhisk.example.com", then https is used), and may end in "/api/v1".
func New(apiHost, authKey string, opts ...Option) (*Client, error) {
	host, err := normalizeHost(apiHost)
	if err != nil {
		return nil, err
	}
	user, secret, ok := strings.Cut(authKey, ":")
	if !ok || user == "" || secret == "" {
		return nil, errors.New(`new whisk client: authKey must have the form "uuid:key"`)
	}
	c := &Client{
		host:      host,
		authKey:   authKey,
		authHdr:   "Basic " + base64.StdEncoding.EncodeToString([]byte(authKey)),
		namespace: DefaultNamespace,
		userAgent: defaultUserAgent,
		http:      &http.Client{},
		retry:     DefaultRetryPolicy(),
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

func normalizeHost(apiHost string) (string, error) {
	h := strings.TrimSpace(apiHost)
	if h == "" {
		return "", errors.New("new whisk client: apiHost is empty, expected a host such as https://openwhisk.example.com or 127.0.0.1:3233")
	}
	if !strings.Contains(h, "://") {
		h = "https://" + h
	}
	u, err := url.Parse(h)
	if err != nil {
		return "", fmt.Errorf("new whisk client: apiHost %q is not a valid URL: %w", apiHost, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("new whisk client: apiHost %q: scheme must be http or https", apiHost)
	}
	if u.Host == "" {
		return "", fmt.Errorf("new whisk client: apiHost %q has no host", apiHost)
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, apiPath)
	return u.Scheme + "://" + u.Host + p, nil
}

// APIHost returns the API host as a URL with scheme and without a trailing
// slash or "/api/v1".
func (c *Client) APIHost() string { return c.host }

// ConfiguredNamespace returns the namespace given by WithNamespace, or "_".
func (c *Client) ConfiguredNamespace() string { return c.namespace }

// Namespace returns the real name of the client's namespace. When the
// configured namespace is "_" it asks the server (GET /namespaces) once and
// remembers the answer.
func (c *Client) Namespace(ctx context.Context) (string, error) {
	if c.namespace != DefaultNamespace {
		return c.namespace, nil
	}
	c.nsMu.Lock()
	ns := c.resolved
	c.nsMu.Unlock()
	if ns != "" {
		return ns, nil
	}
	var list []string
	if _, err := c.doJSON(ctx, call{op: "list namespaces", method: http.MethodGet, path: "/namespaces", safe: idempotent}, &list); err != nil {
		return "", err
	}
	if len(list) == 0 || list[0] == "" {
		return "", errors.New("list namespaces: server returned no namespace")
	}
	c.nsMu.Lock()
	c.resolved = list[0]
	c.nsMu.Unlock()
	return list[0], nil
}

// call is one logical API request.
type call struct {
	op     string // "get trigger \"/_/t\"", used to wrap errors
	method string
	path   string // escaped path below /api/v1, starting with '/'
	query  url.Values
	body   any // JSON-encoded when non-nil
	safe   safety
	invoke bool // non-2xx bodies without "code" are action errors
}

// response is a completed 2xx response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// doJSON runs cl and decodes a 2xx body into out (when out is non-nil and the
// body is not empty).
func (c *Client) doJSON(ctx context.Context, cl call, out any) (*response, error) {
	resp, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	if out != nil && len(bytes.TrimSpace(resp.body)) > 0 {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return nil, fmt.Errorf("%s: decode response: %w", cl.op, err)
		}
	}
	return resp, nil
}

// do runs cl with retries; the returned error is wrapped with cl.op.
func (c *Client) do(ctx context.Context, cl call) (*response, error) {
	var payload []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return nil, fmt.Errorf("%s: encode request: %w", cl.op, err)
		}
		payload = b
	}
	u := c.host + apiPath + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	return c.retry.run(ctx, cl.op, cl.safe, func() (*response, error) {
		return c.attempt(ctx, cl, u, payload)
	})
}

func (c *Client) attempt(ctx context.Context, cl call, u string, payload []byte) (*response, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", c.authHdr)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil {
		return nil, &readError{err: err}
	}
	if len(b) > maxResponseBytes {
		return nil, fmt.Errorf("response larger than %d bytes", maxResponseBytes)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return &response{status: res.StatusCode, header: res.Header, body: b}, nil
	}
	return nil, decodeError(res.StatusCode, res.Header, b, cl.invoke)
}

// readError is a failure while reading a response body: the request reached
// the server.
type readError struct{ err error }

func (e *readError) Error() string { return "read response: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// collection builds an escaped path for an entity of a collection:
// /namespaces/{ns}/{coll}/{pkg}/{name}.
func collectionPath(ns, coll string, segs ...string) string {
	var b strings.Builder
	b.WriteString("/namespaces/")
	b.WriteString(escape(ns))
	b.WriteString("/")
	b.WriteString(coll)
	for _, s := range segs {
		if s == "" {
			continue
		}
		b.WriteString("/")
		b.WriteString(escape(s))
	}
	return b.String()
}

// escape escapes one path segment, also escaping characters that are legal in
// paths but meaningful elsewhere ('@', '&', '+', ...). Spaces become %20.
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
