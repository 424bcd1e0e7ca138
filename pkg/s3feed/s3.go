package s3feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
)

// DefaultPageSize is how many keys one ListObjectsV2 request asks for: the
// most S3 returns.
const DefaultPageSize = 1000

// ClientOptions tune the S3 clients built by NewClient.
type ClientOptions struct {
	// HTTPClient sends the requests; nil means a client whose requests time
	// out after RequestTimeout.
	HTTPClient *http.Client
	// MaxAttempts bounds the attempts of one request (SDK's standard
	// retryer: 5xx, throttling and network errors); 0 means 3.
	MaxAttempts int
	// RequestTimeout bounds one attempt when HTTPClient is nil; 0 means 20 s.
	RequestTimeout time.Duration
}

// NewClient returns an S3 client for c, signing with accessKeyID (from c)
// and secret, or anonymous when c has no access key id. It reads no
// environment or shared configuration: everything comes from c.
func NewClient(c BucketConfig, secret string, o ClientOptions) *s3.Client {
	attempts := o.MaxAttempts
	if attempts <= 0 {
		attempts = 3
	}
	hc := o.HTTPClient
	if hc == nil {
		timeout := o.RequestTimeout
		if timeout <= 0 {
			timeout = 20 * time.Second
		}
		hc = &http.Client{Timeout: timeout, Transport: http.DefaultTransport}
	}
	opts := s3.Options{
		Region:       c.Region,
		UsePathStyle: c.UsePathStyle(),
		HTTPClient:   hc,
		Retryer: retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = attempts
			so.MaxBackoff = 2 * time.Second
			so.RateLimiter = ratelimit.None
		}),
		// S3-compatible stores do not all know the newer checksum headers;
		// a listing needs none.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if c.Endpoint != "" {
		opts.BaseEndpoint = aws.String(c.Endpoint)
	}
	if c.AccessKeyID != "" {
		opts.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKeyID, secret, "")
	} else {
		opts.Credentials = aws.AnonymousCredentials{}
	}
	return s3.New(opts)
}

// ListObjectsAPI is the part of an S3 client a listing needs; *s3.Client
// implements it.
type ListObjectsAPI interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// ListPager returns a Pager over the objects of bucket whose keys start with
// prefix and sort after startAfter ("" for all), pageSize keys per
// ListObjectsV2 request (DefaultPageSize when <= 0). ETags are normalized
// with NormalizeETag and times are in UTC. Keys are requested URL-encoded,
// so that keys holding characters XML cannot carry are listed too, and
// decoded when the store says it encoded them. Errors are returned as
// listed by the SDK; see ClassifyError. The Pager reuses its page buffer.
func ListPager(api ListObjectsAPI, bucket, prefix, startAfter string, pageSize int) Pager {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	var (
		token *string
		done  bool
		buf   []Object
	)
	return PagerFunc(func(ctx context.Context) ([]Object, error) {
		if done {
			return nil, io.EOF
		}
		in := &s3.ListObjectsV2Input{
			Bucket:            aws.String(bucket),
			MaxKeys:           aws.Int32(int32(pageSize)),
			ContinuationToken: token,
			EncodingType:      types.EncodingTypeUrl,
		}
		if prefix != "" {
			in.Prefix = aws.String(prefix)
		}
		if token == nil && startAfter != "" {
			in.StartAfter = aws.String(startAfter)
		}
		out, err := api.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, err
		}
		decode := out.EncodingType == types.EncodingTypeUrl
		buf = buf[:0]
		for _, o := range out.Contents {
			key := aws.ToString(o.Key)
			if decode {
				k, err := url.QueryUnescape(key)
				if err != nil {
					return nil, fmt.Errorf("list bucket %q: key %q is not URL-encoded as announced: %w", bucket, key, err)
				}
				key = k
			}
			buf = append(buf, Object{
				Key:          key,
				ETag:         NormalizeETag(aws.ToString(o.ETag)),
				Size:         aws.ToInt64(o.Size),
				LastModified: aws.ToTime(o.LastModified).UTC(),
				StorageClass: string(o.StorageClass),
			})
		}
		if aws.ToBool(out.IsTruncated) {
			if aws.ToString(out.NextContinuationToken) == "" {
				return nil, fmt.Errorf("list bucket %q: the store said the listing goes on but gave no continuation token", bucket)
			}
			token = out.NextContinuationToken
		} else {
			done = true
		}
		return buf, nil
	})
}

// BucketError is a failed request about a bucket, with what the store said.
// Its message names the bucket and the parameter to check; it never holds
// the secret key.
type BucketError struct {
	Bucket string
	// Code is the S3 error code, such as "NoSuchBucket"; "" when the store
	// gave none (network failures).
	Code string
	// Status is the HTTP status of the answer; 0 when none was received.
	Status int
	// Permanent reports a failure that will not go away by retrying: the
	// bucket is missing, the credentials are refused, the region is wrong.
	Permanent bool
	msg       string
	err       error
}

func (e *BucketError) Error() string { return e.msg }
func (e *BucketError) Unwrap() error { return e.err }

// maxServerMessage bounds the store's message quoted in errors.
const maxServerMessage = 300

// ClassifyError turns a failed request about the bucket of c into a
// *BucketError (nil stays nil; a canceled or expired ctx is returned as is).
func ClassifyError(c BucketConfig, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	be := &BucketError{Bucket: c.Bucket, err: err}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		be.Status = re.HTTPStatusCode()
	}
	detail := ""
	var api smithy.APIError
	if errors.As(err, &api) {
		be.Code = api.ErrorCode()
		detail = api.ErrorCode()
		if m := api.ErrorMessage(); m != "" {
			if len(m) > maxServerMessage {
				m = m[:maxServerMessage] + "…"
			}
			detail += ": " + m
		}
	}
	if detail == "" && be.Status != 0 {
		detail = fmt.Sprintf("HTTP %d %s", be.Status, http.StatusText(be.Status))
	}
	who := "the given s3_access_key_id"
	if c.AccessKeyID == "" {
		who = "anonymous access (no s3_access_key_id given)"
	}
	be.Permanent = true
	switch {
	case be.Code == "NoSuchBucket":
		be.msg = fmt.Sprintf("bucket %q does not exist at %s: %s", c.Bucket, c.where(), detail)
	case be.Code == "InvalidAccessKeyId":
		be.msg = fmt.Sprintf("bucket %q cannot be listed: %s does not know the given s3_access_key_id: %s", c.Bucket, c.where(), detail)
	case be.Code == "SignatureDoesNotMatch":
		be.msg = fmt.Sprintf("bucket %q cannot be listed at %s: the request signature does not match, check s3_secret_access_key (and s3_region): %s", c.Bucket, c.where(), detail)
	case be.Code == "AuthorizationHeaderMalformed", be.Code == "PermanentRedirect", be.Code == "IllegalLocationConstraintException",
		be.Status == http.StatusMovedPermanently:
		be.msg = fmt.Sprintf("bucket %q is not served in region %q at %s, check s3_region (and s3_endpoint): %s", c.Bucket, c.Region, c.where(), detail)
	case be.Code == "AccessDenied", be.Code == "AllAccessDisabled", be.Status == http.StatusForbidden, be.Status == http.StatusUnauthorized:
		be.msg = fmt.Sprintf("bucket %q cannot be listed at %s with %s: %s", c.Bucket, c.where(), who, detail)
	case be.Status >= 400 && be.Status < 500 && be.Status != http.StatusRequestTimeout && be.Status != http.StatusTooManyRequests &&
		be.Code != "SlowDown" && be.Code != "RequestTimeout":
		be.msg = fmt.Sprintf("list bucket %q at %s: %s", c.Bucket, c.where(), detail)
	default:
		be.Permanent = false
		if detail == "" {
			detail = unwrapTransport(err).Error()
		}
		be.msg = fmt.Sprintf("list bucket %q at %s: %s", c.Bucket, c.where(), detail)
	}
	return be
}

// unwrapTransport drops the SDK's operation prefix from a network failure,
// keeping the cause ("dial tcp …: connection refused").
func unwrapTransport(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// sourceError wraps a listing failure for the toolkit: permanent bucket
// errors disable the feed after a few polls.
func sourceError(err error) error {
	var be *BucketError
	return &feed.SourceError{Permanent: errors.As(err, &be) && be.Permanent, Err: err}
}
