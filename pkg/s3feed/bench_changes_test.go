package s3feed_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/tests/testenv"
)

// benchStore is a bucket of n log-like objects on gofakes3 or MinIO.
type benchStore struct {
	params func(bucket string) map[string]any
	client *s3.Client
	bucket string
	fill   func(b *testing.B, keys []string)
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("logs/2026/11/%02d/host-%02d/part-%06d.json.gz", 1+i/2000%28, i/50%40, i)
	}
	return keys
}

func fakeStore(b *testing.B) *benchStore {
	f := newFakeS3(b)
	bucket := f.newBucket(b, "bench")
	return &benchStore{
		params: func(bucket string) map[string]any { return f.params(bucket) },
		client: f.client,
		bucket: bucket,
		fill: func(b *testing.B, keys []string) {
			for _, k := range keys {
				f.putDirect(b, bucket, k, "body "+k)
			}
		},
	}
}

func minioStore(b *testing.B) *benchStore {
	endpoint := testenv.MinIO(b)
	bucket := testenv.NewBucket(b, endpoint)
	c := testenv.S3Client(b, endpoint)
	return &benchStore{
		params: func(bucket string) map[string]any {
			return minioParams(endpoint, bucket, testenv.MinIOAccessKey, testenv.MinIOSecretKey)
		},
		client: c,
		bucket: bucket,
		fill: func(b *testing.B, keys []string) {
			var wg sync.WaitGroup
			work := make(chan string)
			for range 16 {
				wg.Go(func() {
					for k := range work {
						_, err := c.PutObject(b.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader("body " + k)})
						if err != nil {
							b.Error(err)
						}
					}
				})
			}
			for _, k := range keys {
				work <- k
			}
			close(work)
			wg.Wait()
		},
	}
}

// BenchmarkPollCycle measures a whole poll through feed.Local (lease,
// listing, merge with the snapshot read from CouchDB, fires, chunk writes,
// record update) of a bucket of n objects of which 100 changed.
func BenchmarkPollCycle(b *testing.B) {
	cases := []struct {
		store string
		n     int
	}{{"gofakes3", 10_000}, {"gofakes3", 50_000}, {"minio", 10_000}}
	for _, bc := range cases {
		b.Run(fmt.Sprintf("%s/objects=%d", bc.store, bc.n), func(b *testing.B) {
			st := fakeStore
			if bc.store == "minio" {
				st = minioStore
			}
			s := st(b)
			keys := benchKeys(bc.n)
			s.fill(b, keys)
			h := newHarness(b)
			src := s3feed.Changes()
			id := h.create(src, "bench", s.params(s.bucket))
			r := rand.New(rand.NewPCG(1, 2))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for range 100 {
					put(b, s.client, s.bucket, keys[r.IntN(len(keys))], fmt.Sprintf("v%d", r.Uint64()))
				}
				h.takePayloads()
				b.StartTimer()
				res := h.poll(src, id)
				require.EqualValues(b, bc.n, res.Objects)
			}
			b.ReportMetric(float64(bc.n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// BenchmarkListObjects is the bare listing loop, for comparison: the
// ListObjectsV2 pages of the same buckets, nothing else.
func BenchmarkListObjects(b *testing.B) {
	cases := []struct {
		store string
		n     int
	}{{"gofakes3", 10_000}, {"gofakes3", 50_000}, {"minio", 10_000}}
	for _, bc := range cases {
		b.Run(fmt.Sprintf("%s/objects=%d", bc.store, bc.n), func(b *testing.B) {
			st := fakeStore
			if bc.store == "minio" {
				st = minioStore
			}
			s := st(b)
			s.fill(b, benchKeys(bc.n))
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				objs, err := readPagesErr(b, s3feed.ListPager(s.client, s.bucket, "", "", 0))
				require.NoError(b, err)
				require.Len(b, objs, bc.n)
			}
			b.ReportMetric(float64(bc.n)*float64(b.N)/time.Since(start).Seconds(), "objects/s")
		})
	}
}
