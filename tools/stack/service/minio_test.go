package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testAccessKey = "whiskfeed-test"
	testSecretKey = "whiskfeed-test-secret"
)

func s3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, ""),
	})
}

func TestStartMinIO(t *testing.T) {
	requireInstalled(t, "minio")
	begin := time.Now()
	p, err := StartMinIO(t.Context(), MinIOOptions{AccessKey: testAccessKey, SecretKey: testSecretKey})
	require.NoError(t, err)
	t.Logf("minio ready in %s", time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() { _ = p.Stop(t.Context()) })

	c := s3Client(p.URL)
	_, err = c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("uploads")})
	require.NoError(t, err)
	_, err = c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String("a/b.txt"), Body: strings.NewReader("hello")})
	require.NoError(t, err)
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("uploads"), Key: aws.String("a/b.txt")})
	require.NoError(t, err)
	body, err := io.ReadAll(out.Body)
	_ = out.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "hello", string(body))

	require.NoError(t, p.Stop(t.Context()))
	requireGone(t, p.PID)
}

type hookRequest struct {
	auth string
	body minioEvent
}

type minioEvent struct {
	EventName string `json:"EventName"`
	Key       string `json:"Key"`
	Records   []struct {
		S3 struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// hookRecorder answers 200 to every POST and hands each one to the test.
func hookRecorder(t *testing.T) (http.Handler, <-chan hookRequest) {
	got := make(chan hookRequest, 16)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev minioEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		got <- hookRequest{auth: r.Header.Get("Authorization"), body: ev}
	}), got
}

func subscribe(t *testing.T, c *s3.Client, bucket, arn string) {
	t.Helper()
	_, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	_, err = c.PutBucketNotificationConfiguration(t.Context(), &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(bucket),
		NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
			QueueArn: aws.String(arn),
			Events:   []types.Event{types.EventS3ObjectCreated},
		}}},
	})
	require.NoError(t, err)
}

func putObject(t *testing.T, c *s3.Client, bucket, key string) {
	t.Helper()
	_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("x")})
	require.NoError(t, err)
}

// nextHook waits for the next webhook POST for key; MinIO delivers
// asynchronously, so the wait is generous.
func nextHook(t *testing.T, got <-chan hookRequest, key string) hookRequest {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for {
		select {
		case h := <-got:
			if len(h.body.Records) == 1 && h.body.Records[0].S3.Object.Key == key {
				return h
			}
		case <-ctx.Done():
			t.Fatalf("no webhook POST for %s", key)
		}
	}
}

func TestStartMinIOWebhook(t *testing.T) {
	requireInstalled(t, "minio")
	handler, got := hookRecorder(t)
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	hook := Webhook{ID: "TESTHOOK", Endpoint: srv.URL + "/hook", AuthToken: "s3cr3t-token"}
	p, err := StartMinIO(t.Context(), MinIOOptions{AccessKey: testAccessKey, SecretKey: testSecretKey, Webhooks: []Webhook{hook}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(t.Context()) })

	c := s3Client(p.URL)
	subscribe(t, c, "watched", hook.ARN())
	putObject(t, c, "watched", "in/report.csv")

	h := nextHook(t, got, "in%2Freport.csv")
	assert.Equal(t, "Bearer s3cr3t-token", h.auth)
	assert.Equal(t, "s3:ObjectCreated:Put", h.body.EventName)
	assert.Equal(t, "watched/in/report.csv", h.body.Key)
	assert.Equal(t, "watched", h.body.Records[0].S3.Bucket.Name)
	assert.Equal(t, "arn:minio:sqs::TESTHOOK:webhook", hook.ARN())
}

// TestStartMinIOWebhookDownAtStart documents what the stack relies on: MinIO
// starts while its webhook endpoint is down, accepts the notification
// configuration, and with a queue directory delivers the events of that
// time once the endpoint answers.
func TestStartMinIOWebhookDownAtStart(t *testing.T) {
	requireInstalled(t, "minio")
	port, err := FreePort()
	require.NoError(t, err)
	hook := Webhook{ID: "LATE", Endpoint: fmt.Sprintf("http://127.0.0.1:%d/hook", port), AuthToken: "tok", QueueDir: t.TempDir()}
	p, err := StartMinIO(t.Context(), MinIOOptions{AccessKey: testAccessKey, SecretKey: testSecretKey, Webhooks: []Webhook{hook}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(t.Context()) })

	c := s3Client(p.URL)
	subscribe(t, c, "early", hook.ARN())
	putObject(t, c, "early", "while-down")

	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	handler, got := hookRecorder(t)
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: handler}}
	srv.Start()
	t.Cleanup(srv.Close)

	h := nextHook(t, got, "while-down")
	assert.Equal(t, "Bearer tok", h.auth)
}

func TestStartMinIOInvalidOptions(t *testing.T) {
	ok := MinIOOptions{AccessKey: testAccessKey, SecretKey: testSecretKey, Binary: "/nonexistent/minio"}
	tests := []struct {
		name   string
		change func(o *MinIOOptions)
		want   string
	}{
		{name: "short access key", change: func(o *MinIOOptions) { o.AccessKey = "ab" }, want: "AccessKey"},
		{name: "short secret key", change: func(o *MinIOOptions) { o.SecretKey = "1234567" }, want: "SecretKey"},
		{name: "bad webhook id", change: func(o *MinIOOptions) {
			o.Webhooks = []Webhook{{ID: "a-b", Endpoint: "http://127.0.0.1:1/"}}
		}, want: "Webhooks[0].ID"},
		{name: "duplicate webhook id", change: func(o *MinIOOptions) {
			o.Webhooks = []Webhook{{ID: "A", Endpoint: "http://127.0.0.1:1/"}, {ID: "A", Endpoint: "http://127.0.0.1:2/"}}
		}, want: "Webhooks[1].ID"},
		{name: "webhook endpoint not a URL", change: func(o *MinIOOptions) {
			o.Webhooks = []Webhook{{ID: "A", Endpoint: "127.0.0.1:1"}}
		}, want: "Webhooks[0].Endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.change(&o)
			_, err := StartMinIO(t.Context(), o)
			require.ErrorIs(t, err, ErrInvalidOptions)
			assert.Contains(t, err.Error(), tc.want, "the message names the option")
		})
	}
}

func TestMinIOBinaryPathNotBuilt(t *testing.T) {
	_, err := MinIOBinaryPath(WithCacheDir(t.TempDir()))
	require.ErrorIs(t, err, ErrNotInstalled)
	assert.Contains(t, err.Error(), "make deps")

	_, err = StartMinIO(t.Context(), MinIOOptions{AccessKey: testAccessKey, SecretKey: testSecretKey, Binary: t.TempDir() + "/minio"})
	require.Error(t, err)
	var se *StartError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "minio", se.Service)
}
