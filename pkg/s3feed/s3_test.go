package s3feed_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
)

// readPages reads a Pager to the end and returns its objects and page sizes.
func readPages(t testing.TB, p s3feed.Pager) (objs []s3feed.Object, sizes []int) {
	t.Helper()
	for {
		page, err := p.NextPage(t.Context())
		if errors.Is(err, io.EOF) {
			return objs, sizes
		}
		require.NoError(t, err)
		objs = append(objs, page...)
		sizes = append(sizes, len(page))
	}
}

func keys(objs []s3feed.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func TestListPager(t *testing.T) {
	f := newFakeS3(t)
	bucket := f.newBucket(t, "listed")
	all := []string{"a", "b b", "b+c", "logs/1", "logs/2", "logs/3", "z/日本"}
	etags := map[string]string{}
	for _, k := range all {
		etags[k] = put(t, f.client, bucket, k, "body of "+k)
	}
	tests := []struct {
		name, prefix, after string
		pageSize            int
		want                []string
		sizes               []int
	}{
		{name: "all in pages", pageSize: 3, want: all, sizes: []int{3, 3, 1}},
		{name: "default page size", want: all, sizes: []int{7}},
		{name: "prefix", prefix: "logs/", pageSize: 2, want: all[3:6], sizes: []int{2, 1}},
		{name: "start after a key", after: "b+c", pageSize: 2, want: all[3:], sizes: []int{2, 2}},
		{name: "start after between keys", after: "logs/11", pageSize: 10, want: all[4:], sizes: []int{3}},
		// gofakes3 ends this listing with an empty page.
		{name: "prefix and start after", prefix: "logs/", after: "logs/1", pageSize: 1, want: all[4:6], sizes: []int{1, 1, 0}},
		{name: "nothing", prefix: "none/", want: nil, sizes: []int{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, sizes := readPages(t, s3feed.ListPager(f.client, bucket, tc.prefix, tc.after, tc.pageSize))
			assert.Equal(t, tc.want, keys(objs))
			assert.Equal(t, tc.sizes, sizes)
			for _, o := range objs {
				assert.Equal(t, etags[o.Key], o.ETag)
				assert.Regexp(t, `^[0-9a-f]{32}$`, o.ETag, "quotes stripped")
				assert.EqualValues(t, len("body of "+o.Key), o.Size)
				assert.Equal(t, time.UTC, o.LastModified.Location())
			}
		})
	}
}

// listXML is a ListObjectsV2 answer with URL-encoded keys, as S3 gives it
// for encoding-type=url.
const listXML = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Name>enc</Name><Prefix></Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>
<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>
<Contents><Key>a+b</Key><LastModified>2026-11-25T10:00:00.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>c%2Bd%01</Key><LastModified>2026-11-25T10:00:00.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328-2&quot;</ETag><Size>4</Size><StorageClass>GLACIER</StorageClass></Contents>
<Contents><Key>%E6%97%A5</Key><LastModified>2026-11-25T10:00:00.000Z</LastModified><ETag>x</ETag><Size>5</Size></Contents>
</ListBucketResult>`

func TestListPagerDecodesURLEncodedKeys(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, listXML)
	}))
	t.Cleanup(srv.Close)
	c := s3feed.NewClient(s3feed.BucketConfig{Bucket: "enc", Endpoint: srv.URL, Region: "us-east-1"}, "", s3feed.ClientOptions{})
	objs, _ := readPages(t, s3feed.ListPager(c, "enc", "", "", 0))
	assert.Contains(t, query, "encoding-type=url")
	assert.Contains(t, query, "max-keys=1000")
	assert.Equal(t, []s3feed.Object{
		{Key: "a b", ETag: "9b2cf535f27731c974343645a3985328", Size: 3, LastModified: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), StorageClass: "STANDARD"},
		{Key: "c+d\x01", ETag: "9b2cf535f27731c974343645a3985328-2", Size: 4, LastModified: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), StorageClass: "GLACIER"},
		{Key: "日", ETag: "x", Size: 5, LastModified: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
	}, objs)
}

// errorServer answers every request with an S3 error.
func errorServer(t testing.TB, status int, code, message string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>1</RequestId></Error>`, code, message)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// errS3 returns a function starting an errorServer.
func errS3(status int, code, message string) func(testing.TB) string {
	return func(t testing.TB) string { return errorServer(t, status, code, message) }
}

// closedEndpoint returns the URL of a port nothing listens on.
func closedEndpoint(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

func TestErrorsAtCreate(t *testing.T) {
	const secret = "very-secret-key-material"
	tests := []struct {
		name     string
		endpoint func(t testing.TB) string
		keyID    string
		status   int    // of the lifecycle's answer
		code     string // S3 error code
		says     string // part of the message
	}{
		{"no such bucket", errS3(404, "NoSuchBucket", "The specified bucket does not exist"),
			"AKID", 400, "NoSuchBucket", `bucket "b-1" does not exist at http://`},
		{"access denied", errS3(403, "AccessDenied", "Access Denied."),
			"AKID", 400, "AccessDenied", "with the given s3_access_key_id: AccessDenied: Access Denied."},
		{"anonymous denied", errS3(403, "AccessDenied", "Access Denied."),
			"", 400, "AccessDenied", "with anonymous access (no s3_access_key_id given)"},
		{"unknown key", errS3(403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist."),
			"AKID", 400, "InvalidAccessKeyId", "does not know the given s3_access_key_id"},
		{"bad secret", errS3(403, "SignatureDoesNotMatch", "The request signature we calculated does not match."),
			"AKID", 400, "SignatureDoesNotMatch", "check s3_secret_access_key"},
		{"wrong region", errS3(400, "AuthorizationHeaderMalformed", "the region 'us-east-1' is wrong; expecting 'eu-west-1'"),
			"AKID", 400, "AuthorizationHeaderMalformed", `check s3_region`},
		{"server error", errS3(500, "InternalError", "We encountered an internal error."),
			"AKID", 502, "InternalError", `list bucket "b-1"`},
		{"throttled", errS3(503, "SlowDown", "Please reduce your request rate."),
			"AKID", 502, "SlowDown", `list bucket "b-1"`},
		{"unreachable", closedEndpoint, "AKID", 502, "", "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			src := s3feed.Changes(s3feed.WithRetry(1, 5*time.Second))
			params := map[string]any{"bucket": "b-1", "s3_endpoint": tc.endpoint(t)}
			if tc.keyID != "" {
				params["s3_access_key_id"], params["s3_secret_access_key"] = tc.keyID, secret
			}
			_, err := h.local.Create(t.Context(), src, "guest", "t", params)
			require.Error(t, err)
			assert.Equal(t, tc.status, runtime.HTTPStatus(err))
			assert.Contains(t, err.Error(), tc.says)
			assert.NotContains(t, err.Error(), secret)
			var be *s3feed.BucketError
			require.ErrorAs(t, err, &be)
			assert.Equal(t, tc.code, be.Code)
			assert.Equal(t, tc.status == 400, be.Permanent)
			assert.Equal(t, tc.status == 400, errors.Is(err, feed.ErrInvalidParams))
			_, err = h.local.Store.Get(t.Context(), feed.RecordID("guest", "t"))
			require.ErrorIs(t, err, feed.ErrNotFound, "nothing stored")
		})
	}
}

func TestClassifyError(t *testing.T) {
	cfg := s3feed.BucketConfig{Bucket: "b-1", Region: "eu-west-3"}
	assert.NoError(t, s3feed.ClassifyError(cfg, nil))
	for _, status := range []int{401, 403, 404} {
		c := s3feed.NewClient(s3feed.BucketConfig{Bucket: "b-1", Endpoint: errorServer(t, status, "", ""), Region: "eu-west-3"}, "", s3feed.ClientOptions{MaxAttempts: 1})
		_, err := readPagesErr(t, s3feed.ListPager(c, "b-1", "", "", 0))
		err = s3feed.ClassifyError(cfg, err)
		var be *s3feed.BucketError
		require.ErrorAs(t, err, &be)
		assert.True(t, be.Permanent, "HTTP %d", status)
		assert.Equal(t, status, be.Status)
		assert.Contains(t, err.Error(), "AWS S3 (eu-west-3)", "names the store")
	}
}

func readPagesErr(t testing.TB, p s3feed.Pager) ([]s3feed.Object, error) {
	var out []s3feed.Object
	for {
		page, err := p.NextPage(t.Context())
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, slices.Clone(page)...)
	}
}
