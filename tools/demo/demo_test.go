package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/pkg/whisk"
)

const goodEnv = `# environment of the local stack
WHISK_APIHOST=http://127.0.0.1:3233
WHISK_AUTH_GUEST=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:guestsecretguestsecretguestsecret
WHISK_AUTH_SYSTEM=789c46b1-71f6-4ed5-8c54-816aa4f8c502:systemsecretsystemsecretsystem
S3_ENDPOINT=http://127.0.0.1:9000
S3_REGION=eu-west-1
S3_ACCESS_KEY_ID=whiskfeed
S3_SECRET_ACCESS_KEY=s3secretvalue
WHISKFEED_WEBHOOK_TOKEN=tokenvalue
`

func TestParseStackEnv(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    stackEnv
		wantErr string // a word the message must contain
	}{
		{
			name: "written by the stack",
			in:   goodEnv,
			want: stackEnv{APIHost: "http://127.0.0.1:3233", GuestAuth: "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:guestsecretguestsecretguestsecret",
				S3Endpoint: "http://127.0.0.1:9000", S3Region: "eu-west-1", S3AccessKeyID: "whiskfeed", S3SecretKey: "s3secretvalue"},
		},
		{
			name: "export, quotes and blank lines; region defaults",
			in: "\nexport WHISK_APIHOST=\"http://h:1\"\nWHISK_AUTH_GUEST='u:k'\n  # note\n" +
				"S3_ENDPOINT = http://s3:9\nS3_ACCESS_KEY_ID=a\nS3_SECRET_ACCESS_KEY=b\n",
			want: stackEnv{APIHost: "http://h:1", GuestAuth: "u:k", S3Endpoint: "http://s3:9", S3Region: "us-east-1", S3AccessKeyID: "a", S3SecretKey: "b"},
		},
		{
			name:    "missing keys are named",
			in:      "WHISK_APIHOST=http://h:1\nS3_ENDPOINT=http://s3:9\n",
			wantErr: "WHISK_AUTH_GUEST, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY",
		},
		{
			name:    "not KEY=VALUE",
			in:      "WHISK_APIHOST=http://h:1\njust words\n",
			wantErr: "line 2",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStackEnv(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			got.secrets = nil
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestReadStackEnvMissingFile(t *testing.T) {
	_, err := readStackEnv(filepath.Join(t.TempDir(), "stack.env"))
	require.ErrorIs(t, err, errStackNotUp)
	assert.Contains(t, err.Error(), "make up")
}

func TestReadStackEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stack.env")
	require.NoError(t, os.WriteFile(path, []byte(goodEnv), 0o600))
	env, err := readStackEnv(path)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:3233", env.APIHost)
}

func TestSecretsAreRedacted(t *testing.T) {
	env, err := parseStackEnv(strings.NewReader(goodEnv))
	require.NoError(t, err)
	tests := []struct {
		name string
		in   string
		leak bool
	}{
		{"clean READ answer", `{"config":{"s3_access_key_id":"whiskfeed","bucket":"b"}}`, false},
		{"S3 secret", `{"s3_secret_access_key":"s3secretvalue"}`, true},
		{"guest key", `{"authKey":"23bc46b1-71f6-4ed5-8c54-816aa4f8c502:guestsecretguestsecretguestsecret"}`, true},
		{"key half of the guest key", `{"k":"guestsecretguestsecretguestsecret"}`, true},
		{"system key", `{"k":"789c46b1-71f6-4ed5-8c54-816aa4f8c502:systemsecretsystemsecretsystem"}`, true},
		{"webhook token", `Bearer tokenvalue`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.leak, env.leaks(tc.in))
			red := env.redact(tc.in)
			assert.False(t, env.leaks(red), "redacted: %s", red)
			if tc.leak {
				assert.Contains(t, red, "***")
			} else {
				assert.Equal(t, tc.in, red)
			}
		})
	}
}

func TestFormatEvent(t *testing.T) {
	ev := func(source, status, key string, size int64) event {
		e := event{Source: source, Status: status, Key: key}
		e.File.Size = size
		return e
	}
	tests := []struct {
		name    string
		elapsed time.Duration
		e       event
		want    string
	}{
		{"poll add", 4200 * time.Millisecond, ev("poll", "added", "reports/q3.csv", 28),
			"  +4.2s  polling       added     reports/q3.csv (28 B)"},
		{"notification, KiB", 350 * time.Millisecond, ev("notification", "added", "a.bin", 3<<10),
			"  +0.3s  notification  added     a.bin (3.0 KiB)"},
		{"deleted has no size", 12 * time.Second, ev("poll", "deleted", "notes/todo.txt", 34),
			" +12.0s  polling       deleted   notes/todo.txt"},
		{"negative clock skew shows 0", -time.Second, ev("poll", "modified", "x", 1),
			"  +0.0s  polling       modified  x (1 B)"},
		{"unknown source", time.Second, ev("", "added", "x", 1),
			"  +1.0s  ?             added     x (1 B)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, formatEvent(tc.elapsed, tc.e))
		})
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 2 << 30: "2.0 GiB"} {
		assert.Equal(t, want, formatSize(n), "formatSize(%d)", n)
	}
}

func TestDecodeSampleResult(t *testing.T) {
	raw := json.RawMessage(`{"received":2,"events":[
		{"bucket":"b","key":"k1","status":"added","file":{"Key":"k1","ETag":"e1","Size":5},"event_id":"id1","source":"poll"},
		{"bucket":"b","key":"k2","status":"deleted","file":{"Key":"k2"},"source":"notification"}]}`)
	events, err := decodeSampleResult(raw)
	require.NoError(t, err)
	require.Len(t, events, 2)
	assert.Equal(t, "poll/id1", events[0].id())
	assert.Equal(t, int64(5), events[0].File.Size)
	assert.Equal(t, "notification/deleted/k2/", events[1].id(), "without event_id the event is identified by its fields")

	_, err = decodeSampleResult(json.RawMessage(`{"events":"nope"}`))
	require.Error(t, err)
}

func TestExpectations(t *testing.T) {
	var exp expectations
	exp.expect(
		expected{sourcePoll, "added", "a"},
		expected{sourceNotification, "added", "a"},
		expected{sourceNotification, "added", "a"}, // an overwrite: added twice
		expected{sourcePoll, "deleted", "b"},
	)
	assert.True(t, exp.take(event{Source: sourceNotification, Status: "added", Key: "a"}))
	assert.False(t, exp.take(event{Source: sourcePoll, Status: "added", Key: "README.txt"}), "not awaited")
	assert.False(t, exp.take(event{Source: sourcePoll, Status: "modified", Key: "a"}), "status must match")
	assert.True(t, exp.take(event{Source: sourceNotification, Status: "added", Key: "a"}))
	assert.False(t, exp.take(event{Source: sourceNotification, Status: "added", Key: "a"}), "only twice")
	assert.True(t, exp.take(event{Source: sourcePoll, Status: "added", Key: "a"}))
	assert.False(t, exp.done())
	assert.Equal(t, []string{"deleted b via polling"}, exp.missing())
	assert.Len(t, exp.unexpected, 3)

	assert.True(t, exp.take(event{Source: sourcePoll, Status: "deleted", Key: "b"}))
	assert.True(t, exp.done())
	assert.Empty(t, exp.missing())
}

func TestStoryStep(t *testing.T) {
	var out bytes.Buffer
	s := &story{out: &out}
	require.NoError(t, s.step("first", func() ([]string, error) { return []string{"a note"}, nil }))
	require.NoError(t, s.step("second", func() ([]string, error) { return nil, &skipError{reason: "not deployed"} }))
	feedErr := &whisk.ActionError{StatusCode: 502, Result: json.RawMessage(`{"error":"bucket \"b\" is not reachable"}`)}
	err := s.step("third", func() ([]string, error) { return nil, feedErr })
	require.ErrorIs(t, err, feedErr)

	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	require.Len(t, lines, 6)
	assert.Regexp(t, `^ 1\. first … ok \(\d+\.\ds\)$`, lines[0])
	assert.Equal(t, "    a note", lines[1])
	assert.Equal(t, " 2. second … SKIPPED", lines[2])
	assert.Equal(t, "    not deployed", lines[3])
	assert.Regexp(t, `^ 3\. third … FAILED \(\d+\.\ds\)$`, lines[4])
	assert.Equal(t, `    bucket "b" is not reachable`, lines[5], "the feed's own message, not the HTTP wrapping")
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(t *testing.T, cfg config)
	}{
		{name: "defaults from the repository root", args: nil, check: func(t *testing.T, cfg config) {
			assert.Equal(t, 60*time.Second, cfg.wait)
			assert.Equal(t, filepath.Join(".whiskfeed", "stack.env"), lastTwo(cfg.envFile))
			assert.Equal(t, "dist", filepath.Base(cfg.distDir))
		}},
		{name: "flags", args: []string{"-env", "/x/stack.env", "-dist", "/x/dist", "-wait", "5s"}, check: func(t *testing.T, cfg config) {
			assert.Equal(t, config{envFile: "/x/stack.env", distDir: "/x/dist", wait: 5 * time.Second, out: cfg.out}, cfg)
		}},
		{name: "bad wait", args: []string{"-wait", "0s"}, wantErr: true},
		{name: "argument", args: []string{"go"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var errOut bytes.Buffer
			cfg, err := parseFlags(tc.args, &bytes.Buffer{}, &errOut)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			tc.check(t, cfg)
		})
	}
	_, err := parseFlags([]string{"-h"}, &bytes.Buffer{}, &bytes.Buffer{})
	require.ErrorIs(t, err, flag.ErrHelp)
}

func lastTwo(p string) string { return filepath.Join(filepath.Base(filepath.Dir(p)), filepath.Base(p)) }
