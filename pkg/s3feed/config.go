package s3feed

import (
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
)

// Parameters of the S3 sources, as users pass them with -p.
const (
	ParamBucket      = "bucket"
	ParamEndpoint    = "s3_endpoint"
	ParamRegion      = "s3_region"
	ParamAccessKeyID = "s3_access_key_id"
	ParamSecretKey   = "s3_secret_access_key"
	ParamPathStyle   = "s3_path_style"
	ParamPrefix      = "prefix"
	ParamSuffix      = "suffix"
	ParamEvents      = "events"
	ParamInitial     = "initial"
)

// DefaultRegion is the region used when s3_region is not given.
const DefaultRegion = "us-east-1"

// The values of the initial parameter.
const (
	// InitialBaseline records the objects present at CREATE without
	// announcing them (the default).
	InitialBaseline = "baseline"
	// InitialAnnounce announces the objects present at CREATE as added, on
	// the first poll.
	InitialAnnounce = "announce"
)

// maxKeyBytes is the longest S3 object key, hence the longest useful prefix
// or suffix.
const maxKeyBytes = 1024

// BucketConfig says which bucket to watch and how to reach it. Its JSON form
// is keyed by parameter name, so stored settings can be read back as
// parameters (UPDATE does). The secret key is not part of it.
type BucketConfig struct {
	Bucket string `json:"bucket"`
	// Endpoint is the store's base URL; "" means AWS S3.
	Endpoint string `json:"s3_endpoint,omitempty"`
	Region   string `json:"s3_region"`
	// AccessKeyID is "" for anonymous access.
	AccessKeyID string `json:"s3_access_key_id,omitempty"`
	// PathStyle is nil when not given; see UsePathStyle.
	PathStyle *bool `json:"s3_path_style,omitempty"`
}

// UsePathStyle reports whether requests name the bucket in the path
// (http://host/bucket/key) rather than in the host name
// (http://bucket.host/key). Unless s3_path_style says otherwise, path style is
// used with an s3_endpoint (MinIO and most S3-compatible stores serve a
// single host name) and virtual-hosted style with AWS.
func (c BucketConfig) UsePathStyle() bool {
	if c.PathStyle != nil {
		return *c.PathStyle
	}
	return c.Endpoint != ""
}

// where names the store for messages: its endpoint, or AWS and the region.
func (c BucketConfig) where() string {
	if c.Endpoint != "" {
		return c.Endpoint
	}
	return "AWS S3 (" + c.Region + ")"
}

var (
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)
)

const bucketExpected = "an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"

// ConfigureBucket reads the parameters that locate a bucket: bucket,
// s3_endpoint, s3_region, s3_access_key_id, s3_secret_access_key (read as a
// secret) and s3_path_style. Problems are recorded in p.
func ConfigureBucket(p *feed.Params) BucketConfig {
	c := BucketConfig{
		Bucket:      p.Required(ParamBucket, bucketExpected),
		Endpoint:    p.String(ParamEndpoint, ""),
		Region:      p.String(ParamRegion, DefaultRegion),
		AccessKeyID: p.String(ParamAccessKeyID, ""),
	}
	if c.Bucket != "" && !validBucket(c.Bucket) {
		p.Invalid(ParamBucket, bucketExpected, c.Bucket)
	}
	if c.Endpoint != "" {
		e, ok := normalizeEndpoint(c.Endpoint)
		if !ok {
			p.Invalid(ParamEndpoint, "the http(s) URL of an S3-compatible store, such as http://127.0.0.1:9000, without credentials, query or fragment (leave it out for AWS S3)", c.Endpoint)
		}
		c.Endpoint = e
	}
	if !regionPattern.MatchString(c.Region) {
		p.Invalid(ParamRegion, "a region name such as us-east-1", c.Region)
	}
	secret := p.Secret(ParamSecretKey)
	switch {
	case c.AccessKeyID != "" && secret == "":
		p.Invalid(ParamSecretKey, "the secret key that goes with s3_access_key_id", nil)
	case c.AccessKeyID == "" && secret != "":
		p.Invalid(ParamAccessKeyID, "the access key id that goes with s3_secret_access_key", nil)
	}
	if p.Has(ParamPathStyle) {
		v := p.Bool(ParamPathStyle, false)
		c.PathStyle = &v
	}
	return c
}

// validBucket applies S3's bucket naming rules.
func validBucket(b string) bool {
	switch {
	case !bucketPattern.MatchString(b),
		strings.Contains(b, ".."),
		strings.Contains(b, ".-"), strings.Contains(b, "-."),
		net.ParseIP(b) != nil,
		strings.HasPrefix(b, "xn--"), strings.HasPrefix(b, "sthree-"),
		strings.HasSuffix(b, "-s3alias"), strings.HasSuffix(b, "--ol-s3"):
		return false
	}
	return true
}

// normalizeEndpoint checks an s3_endpoint and drops a trailing slash.
func normalizeEndpoint(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return raw, false
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return raw, false
		}
	}
	return strings.TrimRight(u.String(), "/"), true
}

// ChangesSettings are the settings of an s3-changes trigger, keyed by
// parameter name. Configure returns them; the record stores them and READ
// shows them.
type ChangesSettings struct {
	BucketConfig
	Prefix  string   `json:"prefix,omitempty"`
	Suffix  string   `json:"suffix,omitempty"`
	Events  []string `json:"events"`
	Initial string   `json:"initial"`
}

// Filter returns the filter the settings select.
func (s ChangesSettings) Filter() Filter {
	f := Filter{Prefix: s.Prefix, Suffix: s.Suffix}
	for _, e := range s.Events {
		f.Events |= statusBit(Status(e))
	}
	return f
}

var allEvents = []string{string(StatusAdded), string(StatusModified), string(StatusDeleted)}

// ConfigureChanges reads the parameters of an s3-changes trigger (see
// ConfigureBucket, plus prefix, suffix, events and initial); problems are
// recorded in p.
func ConfigureChanges(p *feed.Params) ChangesSettings {
	s := ChangesSettings{
		BucketConfig: ConfigureBucket(p),
		Prefix:       p.String(ParamPrefix, ""),
		Suffix:       p.String(ParamSuffix, ""),
		Events:       p.Set(ParamEvents, allEvents, allEvents...),
		Initial:      p.Enum(ParamInitial, InitialBaseline, InitialBaseline, InitialAnnounce),
	}
	if len(s.Prefix) > maxKeyBytes {
		p.Invalid(ParamPrefix, "at most 1024 bytes, the longest S3 key", s.Prefix)
	}
	if len(s.Suffix) > maxKeyBytes {
		p.Invalid(ParamSuffix, "at most 1024 bytes, the longest S3 key", s.Suffix)
	}
	return s
}
