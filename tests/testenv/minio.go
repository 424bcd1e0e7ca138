package testenv

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// Credentials and region of the MinIO servers started by MinIO.
const (
	MinIOAccessKey = "whiskfeed-test"
	MinIOSecretKey = "whiskfeed-test-secret"
	MinIORegion    = "us-east-1"
)

// MinIOOption configures MinIO.
type MinIOOption func(*minioConfig)

type minioConfig struct {
	webhooks []service.Webhook
}

// WithWebhook adds a notification target (see service.Webhook; its ARN is
// w.ARN()). A server with webhooks is started for the calling test alone and
// stopped when it ends.
func WithWebhook(w service.Webhook) MinIOOption {
	return func(c *minioConfig) { c.webhooks = append(c.webhooks, w) }
}

// MinIO returns the endpoint (http://127.0.0.1:PORT) of a MinIO server with
// MinIOAccessKey and MinIOSecretKey. Without options the server is shared by
// the tests of this binary; give each test its own bucket with NewBucket.
func MinIO(t testing.TB, opts ...MinIOOption) string {
	t.Helper()
	var cfg minioConfig
	for _, o := range opts {
		o(&cfg)
	}
	start := func(ctx context.Context) (*service.Proc, error) {
		return service.StartMinIO(ctx, service.MinIOOptions{
			AccessKey: MinIOAccessKey,
			SecretKey: MinIOSecretKey,
			Webhooks:  cfg.webhooks,
		})
	}
	if len(cfg.webhooks) == 0 {
		return server(t, "minio", start).URL
	}
	if testing.Short() {
		t.Skip("needs a real minio server; skipped in -short mode")
	}
	p, err := start(t.Context())
	if err != nil {
		t.Fatal(startFailure("minio", err))
	}
	t.Cleanup(func() { stop(t, p) })
	return p.URL
}

// S3Client returns a path-style S3 client for the MinIO server at endpoint.
func S3Client(t testing.TB, endpoint string) *s3.Client {
	t.Helper()
	return s3.New(s3.Options{
		Region:       MinIORegion,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(MinIOAccessKey, MinIOSecretKey, ""),
	})
}

// BucketName returns a bucket name unique to this test and this run; the
// bucket is not created.
func BucketName(t testing.TB) string {
	return "t-" + uniqueName(t.Name(), 40, '-')
}

// NewBucket creates a fresh bucket on the MinIO server at endpoint and, when
// the test ends, deletes its objects and the bucket. It returns the name.
func NewBucket(t testing.TB, endpoint string) string {
	t.Helper()
	c := S3Client(t, endpoint)
	name := BucketName(t)
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("testenv: create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := deleteBucket(ctx, c, name); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	return name
}

func deleteBucket(ctx context.Context, c *s3.Client, bucket string) error {
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		var nsb *types.NoSuchBucket
		if errors.As(err, &nsb) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, 0, len(page.Contents))
		for _, o := range page.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return err
		}
	}
	_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	return err
}
