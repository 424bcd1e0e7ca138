package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// putConcurrency is how many PutObject requests run at once when a bucket
// is filled.
const putConcurrency = 32

// listKeys lists every key of bucket with bare ListObjectsV2 pages of 1,000.
func listKeys(ctx context.Context, c *s3.Client, bucket string) ([]string, error) {
	var keys []string
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list bucket %s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

// bareList is the yardstick of the poll cycle: a paginated ListObjectsV2 of
// the whole bucket, pages of 1,000, nothing else. It returns the objects
// counted.
func bareList(ctx context.Context, c *s3.Client, bucket string) (int, error) {
	n := 0
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("list bucket %s: %w", bucket, err)
		}
		n += len(page.Contents)
	}
	return n, nil
}

// ensureBucket creates bucket when missing.
func ensureBucket(ctx context.Context, c *s3.Client, bucket string) error {
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

// putAll puts every key with body(key), putConcurrency at a time, calling
// progress after every 10,000.
func putAll(ctx context.Context, c *s3.Client, bucket string, keys []string, body func(key string) string, progress func(done int)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan string)
	var wg sync.WaitGroup
	var done atomic.Int64
	for range putConcurrency {
		wg.Go(func() {
			for k := range work {
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader(body(k))})
				if err != nil {
					cancel(fmt.Errorf("put %s/%s: %w", bucket, k, err))
					return
				}
				if n := done.Add(1); progress != nil && n%10_000 == 0 {
					progress(int(n))
				}
			}
		})
	}
feed:
	for _, k := range keys {
		select {
		case work <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return context.Cause(ctx)
}

// deleteBucket deletes the objects of bucket, then the bucket.
func deleteBucket(ctx context.Context, c *s3.Client, bucket string) error {
	for {
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1000)})
		if err != nil {
			return fmt.Errorf("delete bucket %s: %w", bucket, err)
		}
		if len(out.Contents) == 0 {
			break
		}
		ids := make([]types.ObjectIdentifier, 0, len(out.Contents))
		for _, o := range out.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("delete bucket %s: %w", bucket, err)
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("delete bucket %s: %w", bucket, err)
	}
	return nil
}

// rate formats n per d.
func rate(n int, d time.Duration) string {
	return fmt.Sprintf("%s/s", count(int(float64(n)/d.Seconds())))
}

// count formats n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
