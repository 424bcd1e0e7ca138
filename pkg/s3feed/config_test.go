package s3feed_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
)

// paramErrors returns every *feed.ParamError joined in err.
func paramErrors(err error) []*feed.ParamError {
	var out []*feed.ParamError
	var walk func(error)
	walk = func(e error) {
		var pe *feed.ParamError
		if errors.As(e, &pe) && pe == e {
			out = append(out, pe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

func configure(params map[string]any) (s3feed.ChangesSettings, error) {
	p := feed.NewParams(params)
	v, err := s3feed.Changes().Configure(p)
	if err == nil {
		err = p.Err()
	}
	s, _ := v.(s3feed.ChangesSettings)
	return s, err
}

func TestConfigureRejectsBadValues(t *testing.T) {
	const secret = "TOP-SECRET-VALUE-1234"
	tests := []struct {
		name   string
		params map[string]any
		bad    string // the parameter the error must name
	}{
		{"bucket missing", map[string]any{}, "bucket"},
		{"bucket not a string", map[string]any{"bucket": 7}, "bucket"},
		{"bucket too short", map[string]any{"bucket": "ab"}, "bucket"},
		{"bucket too long", map[string]any{"bucket": strings.Repeat("a", 64)}, "bucket"},
		{"bucket upper case", map[string]any{"bucket": "MyBucket"}, "bucket"},
		{"bucket underscore", map[string]any{"bucket": "my_bucket"}, "bucket"},
		{"bucket starts with hyphen", map[string]any{"bucket": "-bucket"}, "bucket"},
		{"bucket ends with dot", map[string]any{"bucket": "bucket."}, "bucket"},
		{"bucket double dot", map[string]any{"bucket": "a..b"}, "bucket"},
		{"bucket ip address", map[string]any{"bucket": "192.168.10.2"}, "bucket"},
		{"bucket reserved prefix", map[string]any{"bucket": "xn--bucket"}, "bucket"},
		{"bucket reserved suffix", map[string]any{"bucket": "bucket-s3alias"}, "bucket"},
		{"endpoint scheme", map[string]any{"bucket": "b-1", "s3_endpoint": "ftp://store:21"}, "s3_endpoint"},
		{"endpoint no scheme", map[string]any{"bucket": "b-1", "s3_endpoint": "127.0.0.1:9000"}, "s3_endpoint"},
		{"endpoint credentials", map[string]any{"bucket": "b-1", "s3_endpoint": "http://key:pw@127.0.0.1:9000"}, "s3_endpoint"},
		{"endpoint query", map[string]any{"bucket": "b-1", "s3_endpoint": "http://127.0.0.1:9000/?x=1"}, "s3_endpoint"},
		{"endpoint port", map[string]any{"bucket": "b-1", "s3_endpoint": "http://127.0.0.1:99999"}, "s3_endpoint"},
		{"endpoint no host", map[string]any{"bucket": "b-1", "s3_endpoint": "http://:9000"}, "s3_endpoint"},
		{"endpoint not a string", map[string]any{"bucket": "b-1", "s3_endpoint": 9000}, "s3_endpoint"},
		{"region spaces", map[string]any{"bucket": "b-1", "s3_region": "us east 1"}, "s3_region"},
		{"region not a string", map[string]any{"bucket": "b-1", "s3_region": true}, "s3_region"},
		{"key id without secret", map[string]any{"bucket": "b-1", "s3_access_key_id": "AKIA1"}, "s3_secret_access_key"},
		{"secret without key id", map[string]any{"bucket": "b-1", "s3_secret_access_key": secret}, "s3_access_key_id"},
		{"secret not a string", map[string]any{"bucket": "b-1", "s3_access_key_id": "AKIA1", "s3_secret_access_key": 1234}, "s3_secret_access_key"},
		{"path style", map[string]any{"bucket": "b-1", "s3_path_style": "sometimes"}, "s3_path_style"},
		{"prefix not a string", map[string]any{"bucket": "b-1", "prefix": 5}, "prefix"},
		{"prefix too long", map[string]any{"bucket": "b-1", "prefix": strings.Repeat("p", 1025)}, "prefix"},
		{"suffix too long", map[string]any{"bucket": "b-1", "suffix": strings.Repeat("s", 1025)}, "suffix"},
		{"events unknown", map[string]any{"bucket": "b-1", "events": "added,created"}, "events"},
		{"events empty list", map[string]any{"bucket": "b-1", "events": []any{}}, "events"},
		{"events not strings", map[string]any{"bucket": "b-1", "events": []any{1}}, "events"},
		{"initial unknown", map[string]any{"bucket": "b-1", "initial": "everything"}, "initial"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configure(tc.params)
			require.ErrorIs(t, err, feed.ErrInvalidParams)
			var names []string
			for _, pe := range paramErrors(err) {
				names = append(names, pe.Name)
				assert.NotEmpty(t, pe.Expected, "the error says what was expected")
			}
			assert.Equal(t, []string{tc.bad}, names)
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, err.Error(), "1234", "a secret's value is never echoed")
		})
	}
}

func TestConfigureDefaults(t *testing.T) {
	s, err := configure(map[string]any{"bucket": "uploads"})
	require.NoError(t, err)
	assert.Equal(t, s3feed.ChangesSettings{
		BucketConfig: s3feed.BucketConfig{Bucket: "uploads", Region: "us-east-1"},
		Events:       []string{"added", "modified", "deleted"},
		Initial:      "baseline",
	}, s)
	assert.False(t, s.UsePathStyle(), "AWS: virtual-hosted style")

	s, err = configure(map[string]any{"bucket": "uploads", "s3_endpoint": "http://127.0.0.1:9000/"})
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9000", s.Endpoint, "trailing slash dropped")
	assert.True(t, s.UsePathStyle(), "an endpoint: path style")

	s, err = configure(map[string]any{"bucket": "uploads", "s3_endpoint": "https://s3.example.com", "s3_path_style": "false"})
	require.NoError(t, err)
	assert.False(t, s.UsePathStyle(), "s3_path_style wins")
}

// TestConfigureRoundTrip feeds the stored settings back as parameters, as
// UPDATE does: they must read back to themselves.
func TestConfigureRoundTrip(t *testing.T) {
	tests := []map[string]any{
		{"bucket": "uploads"},
		{"bucket": "uploads", "initial": "announce", "events": "deleted, added"},
		{"bucket": "my.bucket-1", "s3_endpoint": "http://127.0.0.1:9000", "s3_region": "eu-west-3",
			"s3_access_key_id": "AKIAEXAMPLE", "s3_secret_access_key": "wJalr/secret", "s3_path_style": false,
			"prefix": "reports/", "suffix": ".csv", "events": []any{"modified"}},
		{"bucket": "uploads", "s3_path_style": "yes", "prefix": "日本/"},
	}
	for _, params := range tests {
		first, err := configure(params)
		require.NoError(t, err)
		raw, err := json.Marshal(first)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), "secret", "settings hold no secret")
		stored := map[string]any{}
		require.NoError(t, json.Unmarshal(raw, &stored))
		for _, k := range []string{"bucket", "s3_region", "events", "initial"} {
			assert.Contains(t, stored, k, "settings are keyed by parameter name")
		}
		if sec, ok := params["s3_secret_access_key"]; ok {
			stored["s3_secret_access_key"] = sec
		}
		again, err := configure(stored)
		require.NoError(t, err)
		assert.Equal(t, first, again)
	}
}

func TestStateKeysAndKind(t *testing.T) {
	src := s3feed.Changes()
	assert.Equal(t, "s3-changes", src.Kind())
	assert.ElementsMatch(t, []string{"bucket", "s3_endpoint", "prefix"}, src.StateKeys())
}
