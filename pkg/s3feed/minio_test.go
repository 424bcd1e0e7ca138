package s3feed_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/runtime"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

func minioParams(endpoint, bucket, keyID, secret string) map[string]any {
	return map[string]any{"bucket": bucket, "s3_endpoint": endpoint, "s3_region": testenv.MinIORegion,
		"s3_access_key_id": keyID, "s3_secret_access_key": secret}
}

// TestMinIOCreateRefused checks CREATE against a real store: what it
// refuses is answered 400 with the store's reason, and nothing is stored.
func TestMinIOCreateRefused(t *testing.T) {
	endpoint := testenv.MinIO(t)
	bucket := testenv.NewBucket(t, endpoint)
	tests := []struct {
		name, bucket, keyID, secret string
		code, says                  string
	}{
		{"unknown access key", bucket, "nobody", testenv.MinIOSecretKey, "InvalidAccessKeyId", "does not know the given s3_access_key_id"},
		{"wrong secret", bucket, testenv.MinIOAccessKey, "not-the-secret", "SignatureDoesNotMatch", "check s3_secret_access_key"},
		{"missing bucket", testenv.BucketName(t), testenv.MinIOAccessKey, testenv.MinIOSecretKey, "NoSuchBucket", "does not exist at " + endpoint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			_, err := h.local.Create(t.Context(), s3feed.Changes(), "guest", "t", minioParams(endpoint, tc.bucket, tc.keyID, tc.secret))
			require.ErrorIs(t, err, feed.ErrInvalidParams)
			assert.Equal(t, 400, runtime.HTTPStatus(err))
			var be *s3feed.BucketError
			require.ErrorAs(t, err, &be)
			assert.Equal(t, tc.code, be.Code)
			assert.Contains(t, err.Error(), tc.says)
			assert.Contains(t, err.Error(), `bucket "`+tc.bucket+`"`)
			assert.NotContains(t, err.Error(), tc.secret)
			_, err = h.local.Store.Get(t.Context(), feed.RecordID("guest", "t"))
			assert.True(t, errors.Is(err, feed.ErrNotFound), "nothing stored: %v", err)
		})
	}
}

// TestMinIOPoll runs the source against a real store, with keys that need
// URL encoding in listings.
func TestMinIOPoll(t *testing.T) {
	endpoint := testenv.MinIO(t)
	bucket := testenv.NewBucket(t, endpoint)
	c := testenv.S3Client(t, endpoint)
	h := newHarness(t)
	src := s3feed.Changes(s3feed.WithPageSize(2), smallChunks)
	put(t, c, bucket, "old report.csv", "q2")
	put(t, c, bucket, "gone+soon", "x")
	id := h.create(src, "t", minioParams(endpoint, bucket, testenv.MinIOAccessKey, testenv.MinIOSecretKey))
	assert.Zero(t, h.poll(src, id).Events)

	added := put(t, c, bucket, "日本/a b+c%20.txt", "new")
	modified := put(t, c, bucket, "old report.csv", "q3")
	del(t, c, bucket, "gone+soon")
	h.poll(src, id)
	assert.Equal(t, []change{
		{s3feed.StatusDeleted, "gone+soon", s3feed.NormalizeETag(`"9dd4e461268c8034f5c8564e155c67a6"`)},
		{s3feed.StatusModified, "old report.csv", modified},
		{s3feed.StatusAdded, "日本/a b+c%20.txt", added},
	}, changesOf(t, bucket, h.events()))
	assert.Zero(t, h.poll(src, id).Events)
	assert.EqualValues(t, 2, h.record(id).Stats.Objects)
}
