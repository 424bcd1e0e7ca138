package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
)

// listAll reads a whole listing of the fake with the S3 client and pager the
// poll action uses.
func listAll(t *testing.T, endpoint, bucket, prefix, startAfter string) []s3feed.Object {
	t.Helper()
	yes := true
	c := s3feed.NewClient(s3feed.BucketConfig{Bucket: bucket, Endpoint: endpoint, Region: "us-east-1", AccessKeyID: "k", PathStyle: &yes}, "secret", s3feed.ClientOptions{})
	p := s3feed.ListPager(c, bucket, prefix, startAfter, 0)
	var objs []s3feed.Object
	for {
		page, err := p.NextPage(t.Context())
		if errors.Is(err, io.EOF) {
			return objs
		}
		require.NoError(t, err)
		objs = append(objs, page...)
	}
}

func TestFakeListing(t *testing.T) {
	const n = 2500
	l := &fakeListing{bucket: "bench-1m", n: n, seed: 7}
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)

	objs := listAll(t, srv.URL, "bench-1m", "", "")
	require.Len(t, objs, n)
	assert.True(t, slices.IsSortedFunc(objs, func(a, b s3feed.Object) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	}), "keys are sorted")
	md5 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	etags := map[string]bool{}
	for _, o := range objs {
		assert.Regexp(t, md5, o.ETag)
		assert.Positive(t, o.Size)
		assert.False(t, o.LastModified.IsZero())
		etags[o.ETag] = true
	}
	assert.Len(t, etags, n, "every ETag differs")
	assert.Equal(t, objs, listAll(t, srv.URL, "bench-1m", "", ""), "the listing is deterministic")

	t.Run("start-after and prefix", func(t *testing.T) {
		after := listAll(t, srv.URL, "bench-1m", "", objs[1200].Key)
		assert.Equal(t, objs[1201:], after)
		day := listAll(t, srv.URL, "bench-1m", "logs/day-000/host-01/", "")
		assert.Equal(t, objs[1000:2000], day)
	})

	t.Run("changed objects get new ETags", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/_bench/changed?n=10", "", nil)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		t.Cleanup(func() { l.changed.Store(0) })
		changed := listAll(t, srv.URL, "bench-1m", "", "")
		require.Len(t, changed, n)
		differ := 0
		for i := range objs {
			assert.Equal(t, objs[i].Key, changed[i].Key)
			if objs[i].ETag != changed[i].ETag {
				differ++
			}
		}
		assert.Equal(t, 10, differ)
	})

	t.Run("other buckets and requests", func(t *testing.T) {
		tests := []struct {
			name, method, path string
			want               int
		}{
			{"unknown bucket", http.MethodGet, "/other?list-type=2", http.StatusNotFound},
			{"head bucket", http.MethodHead, "/bench-1m", http.StatusOK},
			{"get object", http.MethodGet, "/bench-1m/logs/x", http.StatusNotFound},
			{"listing v1", http.MethodGet, "/bench-1m", http.StatusNotImplemented},
			{"bad token", http.MethodGet, "/bench-1m?list-type=2&continuation-token=x", http.StatusBadRequest},
			{"bad changed", http.MethodPost, "/_bench/changed?n=-1", http.StatusBadRequest},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				req, err := http.NewRequestWithContext(context.Background(), tc.method, srv.URL+tc.path, nil)
				require.NoError(t, err)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				_ = resp.Body.Close()
				assert.Equal(t, tc.want, resp.StatusCode)
			})
		}
	})
}
