package s3feed_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
)

// ExampleListPager lists a bucket a page at a time, as a poll does.
func ExampleListPager() {
	ctx := context.Background()
	srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	defer srv.Close()

	cfg := s3feed.BucketConfig{Bucket: "uploads", Endpoint: srv.URL, Region: s3feed.DefaultRegion, AccessKeyID: "key"}
	client := s3feed.NewClient(cfg, "secret", s3feed.ClientOptions{})
	_, _ = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("uploads")})
	for _, k := range []string{"a.csv", "b.csv", "c.csv"} {
		_, _ = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String(k), Body: strings.NewReader("x")})
	}

	pages := s3feed.ListPager(client, cfg.Bucket, "", "a.csv", 1) // keys after a.csv, one per page
	for {
		page, err := pages.NextPage(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(s3feed.ClassifyError(cfg, err))
			return
		}
		for _, o := range page {
			fmt.Println(o.Key, o.ETag, o.Size)
		}
	}
	// Output:
	// b.csv 9dd4e461268c8034f5c8564e155c67a6 1
	// c.csv 9dd4e461268c8034f5c8564e155c67a6 1
}
