package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

func env(vals map[string]string) func(string) string {
	return func(k string) string { return vals[k] }
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c config)
		wantErr string
	}{
		{name: "defaults", args: []string{"up"}, check: func(t *testing.T, c config) {
			assert.Equal(t, "up", c.command)
			assert.Equal(t, 3233, c.whiskPort)
			assert.Equal(t, 5984, c.couchPort)
			assert.Equal(t, 9000, c.s3Port)
			assert.Equal(t, 9001, c.consolePort)
			assert.Equal(t, filepath.Join(c.root, ".whiskfeed"), c.stateDir)
			assert.FileExists(t, filepath.Join(c.root, "go.mod"))
		}},
		{name: "ports and token from the environment", args: []string{"-no-whisk", "-state", "st", "down"},
			env: map[string]string{"WHISKFEED_WHISK_PORT": "13233", "WHISKFEED_COUCHDB_PORT": "15984", "WHISKFEED_S3_PORT": "0", "WHISKFEED_WEBHOOK_TOKEN": "tok"},
			check: func(t *testing.T, c config) {
				assert.Equal(t, 13233, c.whiskPort)
				assert.Equal(t, 15984, c.couchPort)
				assert.Equal(t, 0, c.s3Port)
				assert.Equal(t, 0, c.consolePort, "no console next to a free S3 port")
				assert.Equal(t, "tok", c.webhookToken)
				assert.True(t, c.noWhisk)
				assert.True(t, filepath.IsAbs(c.stateDir))
				assert.Equal(t, "st", filepath.Base(c.stateDir))
			}},
		{name: "bad port", args: []string{"up"}, env: map[string]string{"WHISKFEED_S3_PORT": "nine"}, wantErr: `WHISKFEED_S3_PORT="nine"`},
		{name: "port out of range", args: []string{"up"}, env: map[string]string{"WHISKFEED_COUCHDB_PORT": "70000"}, wantErr: "WHISKFEED_COUCHDB_PORT"},
		{name: "unknown command", args: []string{"start"}, wantErr: `unknown command "start"`},
		{name: "no command", args: nil, wantErr: "usage"},
		{name: "unknown flag", args: []string{"-x", "up"}, wantErr: "usage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(tc.args, env(tc.env), io.Discard)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}

func TestRunSteps(t *testing.T) {
	ran := 0
	var out bytes.Buffer
	boom := errors.New("boom")
	err := runSteps(t.Context(), &out, []step{
		{name: "quiet", run: func(context.Context, io.Writer) error { ran++; return nil }},
		{name: "chatty", run: func(_ context.Context, w io.Writer) error { ran++; fmt.Fprint(w, "line 1\nline 2\n"); return nil }},
		{name: "nothing to do", run: func(context.Context, io.Writer) error { ran++; return skip("up to date") }},
		{name: "broken", run: func(context.Context, io.Writer) error { ran++; return boom }},
		{name: "never", run: func(context.Context, io.Writer) error { ran++; return nil }},
	})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "step 4/5 broken")
	assert.Equal(t, 4, ran, "steps after a failure do not run")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 7)
	assert.Regexp(t, `^\[1/5\] quiet … ok \(\d+\.\ds\)$`, lines[0])
	assert.Equal(t, "[2/5] chatty …", lines[1])
	assert.Equal(t, "      line 1", lines[2])
	assert.Equal(t, "      line 2", lines[3])
	assert.Regexp(t, `^      ok \(\d+\.\ds\)$`, lines[4])
	assert.Regexp(t, `^\[3/5\] nothing to do … skipped: up to date \(\d+\.\ds\)$`, lines[5])
	assert.Regexp(t, `^\[4/5\] broken … FAILED \(\d+\.\ds\)$`, lines[6])
}

// testConfig is a stack on free ports with its state in a temporary
// directory, without localwhisk (tested in its own package).
func testConfig(t *testing.T, command string) (config, *bytes.Buffer) {
	t.Helper()
	root, err := service.RepoRoot()
	require.NoError(t, err)
	var out bytes.Buffer
	return config{command: command, root: root, stateDir: t.TempDir(), noWhisk: true, out: &out}, &out
}

func requireInstalled(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real servers; skipped in -short mode")
	}
	if _, err := service.MinIOBinaryPath(); err != nil {
		t.Fatalf("%v (run `make deps`)", err)
	}
	dir, err := service.NodeDir()
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "pouchdb-server")); err != nil {
		t.Fatalf("pouchdb-server is not installed (run `make deps`): %v", err)
	}
}

func TestUpStatusEnvDown(t *testing.T) {
	requireInstalled(t)
	cfg, out := testConfig(t, "up")
	cfg.webhookToken = "token-from-env"
	t.Cleanup(func() { // stop what a failed assertion left running
		c := cfg
		c.command, c.out = "down", io.Discard
		_ = run(context.Background(), c)
	})

	require.NoError(t, run(t.Context(), cfg), out.String())
	assert.Contains(t, out.String(), "write stack.env … ok")
	assert.Contains(t, out.String(), "build localwhisk … skipped: -no-whisk")
	assert.NotContains(t, out.String(), "token-from-env", "secrets are not printed")

	vals, err := readEnvFile(cfg.path("stack.env"))
	require.NoError(t, err)
	for _, k := range []string{"WHISK_APIHOST", "WHISK_AUTH_GUEST", "WHISK_AUTH_SYSTEM", "S3_ENDPOINT", "S3_ACCESS_KEY_ID",
		"S3_SECRET_ACCESS_KEY", "COUCHDB_URL", "WHISKFEED_COUCHDB_URL", "WHISKFEED_ENCRYPTION_KEY", "WHISKFEED_WEBHOOK_TOKEN",
		"WHISKFEED_NOTIFICATION_ARN"} {
		assert.NotEmpty(t, vals[k], k)
	}
	assert.Equal(t, "token-from-env", vals["WHISKFEED_WEBHOOK_TOKEN"])
	assert.Equal(t, "arn:minio:sqs::WHISKFEED:webhook", vals["WHISKFEED_NOTIFICATION_ARN"])
	assert.Equal(t, vals["WHISK_APIHOST"]+"/api/v1/web/whisk.system/s3-trigger-feed-web/hook", vals["WHISKFEED_HOOK_URL"])
	st, err := os.Stat(cfg.path("stack.env"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "stack.env holds secrets")

	t.Run("services answer", func(t *testing.T) {
		resp, err := http.Get(vals["COUCHDB_URL"] + "/" + vals["WHISKFEED_COUCHDB_DATABASE"])
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "the provider database exists")

		c := s3.New(s3.Options{
			Region: vals["S3_REGION"], BaseEndpoint: aws.String(vals["S3_ENDPOINT"]), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(vals["S3_ACCESS_KEY_ID"], vals["S3_SECRET_ACCESS_KEY"], ""),
		})
		_, err = c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("uploads")})
		require.NoError(t, err)
		_, err = c.PutBucketNotificationConfiguration(t.Context(), &s3.PutBucketNotificationConfigurationInput{
			Bucket: aws.String("uploads"),
			NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
				QueueArn: aws.String(vals["WHISKFEED_NOTIFICATION_ARN"]), Events: []types.Event{types.EventS3ObjectCreated},
			}}},
		})
		require.NoError(t, err, "MinIO knows the WHISKFEED webhook target")
	})

	t.Run("status", func(t *testing.T) {
		c, out := cfg, &bytes.Buffer{}
		c.command, c.out = "status", out
		require.NoError(t, run(t.Context(), c))
		assert.Regexp(t, `(?m)^couchdb\s+up\s+pid`, out.String())
		assert.Regexp(t, `(?m)^minio\s+up\s+pid`, out.String())
		assert.Regexp(t, `(?m)^localwhisk\s+not started`, out.String())
	})

	t.Run("env", func(t *testing.T) {
		c, out := cfg, &bytes.Buffer{}
		c.command, c.out = "env", out
		require.NoError(t, run(t.Context(), c))
		file, err := os.ReadFile(cfg.path("stack.env"))
		require.NoError(t, err)
		assert.Equal(t, string(file), out.String())
	})

	t.Run("up again keeps the running stack", func(t *testing.T) {
		c, out := cfg, &bytes.Buffer{}
		c.out = out
		require.NoError(t, run(t.Context(), c))
		assert.Contains(t, out.String(), "already up")
	})

	recs, err := readRecords(cfg)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, "couchdb", recs[0].Name)
	assert.Equal(t, "minio", recs[1].Name)

	down, downOut := cfg, &bytes.Buffer{}
	down.command, down.out = "down", downOut
	require.NoError(t, run(t.Context(), down))
	assert.Regexp(t, `\[1/2\] stop minio \(pid \d+\) … ok`, downOut.String())
	assert.Regexp(t, `\[2/2\] stop couchdb \(pid \d+\) … ok`, downOut.String())
	for _, r := range recs {
		_, err := service.Attach(r)
		require.ErrorIs(t, err, service.ErrNotRunning, "%s is stopped", r.Name)
	}
	left, err := readRecords(cfg)
	require.NoError(t, err)
	assert.Empty(t, left)

	t.Run("secrets are kept for the next up", func(t *testing.T) {
		c, out := cfg, &bytes.Buffer{}
		c.webhookToken, c.out = "", out
		require.NoError(t, run(t.Context(), c), out.String())
		again, err := readEnvFile(cfg.path("stack.env"))
		require.NoError(t, err)
		assert.Equal(t, vals["WHISKFEED_ENCRYPTION_KEY"], again["WHISKFEED_ENCRYPTION_KEY"])
		assert.Equal(t, vals["S3_SECRET_ACCESS_KEY"], again["S3_SECRET_ACCESS_KEY"])
		assert.NotEqual(t, "token-from-env", again["WHISKFEED_WEBHOOK_TOKEN"], "without the variable the generated token is used")
		require.NoError(t, run(t.Context(), down))
	})
}

func TestDownLeavesReusedPIDAlone(t *testing.T) {
	cfg, out := testConfig(t, "down")
	// A pid file whose PID is now this test process.
	require.NoError(t, writeRecord(cfg, service.Record{Name: "minio", PID: os.Getpid(), URL: "http://127.0.0.1:1", Identity: "start:1"}))
	require.NoError(t, run(t.Context(), cfg))
	assert.Contains(t, out.String(), fmt.Sprintf("pid %d now belongs to another process; left alone", os.Getpid()))
	recs, err := readRecords(cfg)
	require.NoError(t, err)
	assert.Empty(t, recs, "the stale pid file is removed")
}

func TestUpFailsOnTakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	cfg, out := testConfig(t, "up")
	if _, err := service.MinIOBinaryPath(); err != nil {
		t.Skip("the MinIO binary step would build MinIO first")
	}
	cfg.s3Port = l.Addr().(*net.TCPAddr).Port

	err = run(t.Context(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "prepare")
	assert.Contains(t, err.Error(), fmt.Sprintf("port %d (WHISKFEED_S3_PORT) is taken", cfg.s3Port))
	assert.Contains(t, out.String(), "FAILED")
	recs, err := readRecords(cfg)
	require.NoError(t, err)
	assert.Empty(t, recs, "nothing was started")
}

func TestEnvBeforeUp(t *testing.T) {
	cfg, _ := testConfig(t, "env")
	err := run(t.Context(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run `go run ./tools/stack up` first")
}
