package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// bucketClient does the demo's few S3 operations on the local store.
type bucketClient struct {
	c *s3.Client
}

func newBucketClient(env stackEnv) *bucketClient {
	return &bucketClient{c: s3.New(s3.Options{
		Region:       env.S3Region,
		BaseEndpoint: aws.String(env.S3Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(env.S3AccessKeyID, env.S3SecretKey, ""),
	})}
}

// ping checks that the store answers and accepts the credentials.
func (b *bucketClient) ping(ctx context.Context) error {
	if _, err := b.c.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		return fmt.Errorf("list buckets: %w", err)
	}
	return nil
}

func (b *bucketClient) createBucket(ctx context.Context, bucket string) error {
	if _, err := b.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

// put writes an object.
func (b *bucketClient) put(ctx context.Context, bucket, key, body string) error {
	_, err := b.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
		Body:   strings.NewReader(body),
	})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

func (b *bucketClient) delete(ctx context.Context, bucket, key string) error {
	if _, err := b.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// removeBucket deletes every object of bucket, then the bucket. A bucket
// that is already gone counts as removed.
func (b *bucketClient) removeBucket(ctx context.Context, bucket string) error {
	pages := s3.NewListObjectsV2Paginator(b.c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		var nsb *types.NoSuchBucket
		if errors.As(err, &nsb) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("remove bucket %s: list objects: %w", bucket, err)
		}
		for _, o := range page.Contents {
			if err := b.delete(ctx, bucket, aws.ToString(o.Key)); err != nil {
				return fmt.Errorf("remove bucket %s: %w", bucket, err)
			}
		}
	}
	if _, err := b.c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("remove bucket %s: %w", bucket, err)
	}
	return nil
}
