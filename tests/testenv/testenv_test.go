package testenv_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	kivik "github.com/go-kivik/kivik/v4"
	_ "github.com/go-kivik/kivik/v4/couchdb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tests/testenv"
	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestCouchDB(t *testing.T) {
	url := testenv.CouchDB(t)
	assert.Equal(t, url, testenv.CouchDB(t), "one server per test binary")
	client, err := kivik.New("couch", url)
	require.NoError(t, err)

	var name string
	t.Run("fresh database", func(t *testing.T) {
		name = testenv.NewDatabase(t, url)
		assert.NotEqual(t, name, testenv.NewDatabase(t, url), "each call gives another database")
		assert.Regexp(t, `^[a-z][a-z0-9_$()+/-]*$`, name)
		_, err := client.DB(name).Put(t.Context(), "d1", map[string]any{"ok": true})
		require.NoError(t, err)
	})
	exists, err := client.DBExists(t.Context(), name)
	require.NoError(t, err)
	assert.False(t, exists, "the database is deleted when its test ends")
}

func TestMinIO(t *testing.T) {
	endpoint := testenv.MinIO(t)
	assert.Equal(t, endpoint, testenv.MinIO(t), "one server per test binary")
	c := testenv.S3Client(t, endpoint)

	var bucket string
	t.Run("fresh bucket", func(t *testing.T) {
		bucket = testenv.NewBucket(t, endpoint)
		assert.Regexp(t, `^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`, bucket)
		_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader("v")})
		require.NoError(t, err)
	})
	_, err := c.HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	var notFound *types.NotFound
	require.ErrorAs(t, err, &notFound, "the bucket is deleted when its test ends")
}

func TestMinIOWithWebhook(t *testing.T) {
	got := make(chan string, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Key string `json:"Key"`
		}
		_ = json.NewDecoder(r.Body).Decode(&ev)
		got <- r.Header.Get("Authorization") + " " + ev.Key
	}))
	t.Cleanup(srv.Close)
	hook := service.Webhook{ID: "TESTENV", Endpoint: srv.URL, AuthToken: "tk"}

	endpoint := testenv.MinIO(t, testenv.WithWebhook(hook))
	assert.NotEqual(t, testenv.MinIO(t), endpoint, "a server with webhooks is not the shared one")
	c := testenv.S3Client(t, endpoint)
	bucket := testenv.NewBucket(t, endpoint)
	_, err := c.PutBucketNotificationConfiguration(t.Context(), &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(bucket),
		NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
			QueueArn: aws.String(hook.ARN()), Events: []types.Event{types.EventS3ObjectCreated},
		}}},
	})
	require.NoError(t, err)
	_, err = c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("x.txt"), Body: strings.NewReader("v")})
	require.NoError(t, err)

	select {
	case s := <-got:
		assert.Equal(t, "Bearer tk "+bucket+"/x.txt", s)
	case <-time.After(60 * time.Second):
		t.Fatal("no webhook POST")
	}
}

func TestNamesAreUniqueAndValid(t *testing.T) {
	tests := []struct{ name string }{{"Simple"}, {"With Spaces/And.Dots"}, {strings.Repeat("Long", 40)}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, bucket := testenv.DatabaseName(t), testenv.BucketName(t)
			assert.Regexp(t, `^[a-z][a-z0-9_]*$`, db)
			assert.Regexp(t, `^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`, bucket)
			assert.NotEqual(t, db, testenv.DatabaseName(t))
			assert.NotEqual(t, bucket, testenv.BucketName(t))
		})
	}
}
