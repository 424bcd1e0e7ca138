package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/tools/bench/record"
	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// Credentials of the bench's MinIO server (its data is only the bench's).
const (
	minioAccessKey = "whiskfeed-bench"
	minioSecretKey = "whiskfeed-bench-secret"
	minioRegion    = "us-east-1"
	webhookID      = "WHISKFEED"
)

// bench is one run: its directories and the servers started so far. Servers
// start on first use and stop in close.
type bench struct {
	cfg     config
	root    string // repository root
	workDir string // removed at the end
	logDir  string // kept: the servers' logs of the last run
	out     io.Writer

	encryptionKey string
	webhookToken  string
	whiskPort     int // chosen at the start: MinIO's webhook names it

	procs     []*service.Proc
	couchProc *service.Proc
	minioProc *service.Proc
	whisk     *whiskStack
	distDir   string // packed zips
	collector *record.Collector
	collURL   string
	collSrv   *http.Server
	fixture   *pollFixture
	filled    bool // the cached bucket was (re)built in this run
}

func newBench(cfg config, root string) (*bench, error) {
	logDir := filepath.Join(cfg.cacheDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", logDir, err)
	}
	port, err := service.FreePort()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "whiskfeed-bench-")
	if err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	return &bench{cfg: cfg, root: root, workDir: work, logDir: logDir, out: cfg.stdout,
		encryptionKey: randomHex(32), webhookToken: randomHex(24), whiskPort: port}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// note prints a progress line under the current row.
func (b *bench) note(format string, args ...any) {
	fmt.Fprintf(b.out, "      "+format+"\n", args...)
}

// close stops every server, newest first, and removes the work directory.
func (b *bench) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b.collSrv != nil {
		_ = b.collSrv.Close()
	}
	if b.fixture != nil {
		_ = b.fixture.local.Store.Close()
	}
	for i := len(b.procs) - 1; i >= 0; i-- {
		if err := b.procs[i].Stop(ctx); err != nil {
			fmt.Fprintf(b.out, "stop %s: %v\n", b.procs[i].Name, err)
		}
	}
	_ = os.RemoveAll(b.workDir)
}

func (b *bench) logFile(name string) string {
	path := filepath.Join(b.logDir, name+".log")
	_ = os.Remove(path) // each run starts a fresh log
	return path
}

// couch starts pouchdb-server, with its databases on disk in the work
// directory.
func (b *bench) couch(ctx context.Context) (string, error) {
	if b.couchProc != nil {
		return b.couchProc.URL, nil
	}
	start := time.Now()
	if err := service.InstallNodeDeps(ctx, "", service.WithProgress(indent{b.out})); err != nil {
		return "", err
	}
	p, err := service.StartCouchDB(ctx, service.CouchDBOptions{Dir: filepath.Join(b.workDir, "couchdb"), LogFile: b.logFile("couchdb")})
	if err != nil {
		return "", err
	}
	b.procs = append(b.procs, p)
	b.couchProc = p
	b.note("started pouchdb-server (databases on disk) in %s", since(start))
	return p.URL, nil
}

// minio starts MinIO on the cached data directory, with a webhook target
// (no queue: delivered at once) pointing at localwhisk's hook action.
func (b *bench) minio(ctx context.Context) (string, error) {
	if b.minioProc != nil {
		return b.minioProc.URL, nil
	}
	start := time.Now()
	bin, err := service.MinIOBinary(ctx, service.WithProgress(indent{b.out}))
	if err != nil {
		return "", err
	}
	p, err := service.StartMinIO(ctx, service.MinIOOptions{
		Dir:       filepath.Join(b.cfg.cacheDir, "minio"),
		AccessKey: minioAccessKey,
		SecretKey: minioSecretKey,
		Binary:    bin,
		LogFile:   b.logFile("minio"),
		Webhooks: []service.Webhook{{
			ID:        webhookID,
			Endpoint:  b.whiskURL() + "/api/v1/web/whisk.system/s3-trigger-feed-web/hook",
			AuthToken: b.webhookToken,
		}},
	})
	if err != nil {
		return "", err
	}
	b.procs = append(b.procs, p)
	b.minioProc = p
	b.note("started MinIO (data kept in the cache directory) in %s", since(start))
	if err := b.dropStaleBuckets(ctx); err != nil {
		return "", err
	}
	return p.URL, nil
}

func (b *bench) whiskURL() string { return fmt.Sprintf("http://127.0.0.1:%d", b.whiskPort) }

func (b *bench) s3Client() *s3.Client {
	yes := true
	return s3feed.NewClient(s3feed.BucketConfig{Endpoint: b.minioProc.URL, Region: minioRegion, AccessKeyID: minioAccessKey, PathStyle: &yes},
		minioSecretKey, s3feed.ClientOptions{})
}

// minioParams are a trigger's parameters for bucket on the bench's MinIO.
func (b *bench) minioParams(bucket string) map[string]any {
	return map[string]any{
		s3feed.ParamBucket: bucket, s3feed.ParamEndpoint: b.minioProc.URL, s3feed.ParamRegion: minioRegion,
		s3feed.ParamAccessKeyID: minioAccessKey, s3feed.ParamSecretKey: minioSecretKey, s3feed.ParamPathStyle: true,
	}
}

// Buckets the bench keeps between runs; every other bucket is a leftover of
// an interrupted run.
var keptBuckets = map[string]bool{pollBucket: true}

func (b *bench) dropStaleBuckets(ctx context.Context) error {
	c := b.s3Client()
	out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		return fmt.Errorf("list buckets: %w", err)
	}
	for _, bk := range out.Buckets {
		name := aws.ToString(bk.Name)
		if keptBuckets[name] {
			continue
		}
		if err := deleteBucket(ctx, c, name); err != nil {
			return err
		}
		b.note("removed bucket %s left by an earlier run", name)
	}
	return nil
}

// pack builds the action zips (actions/* and the bench's recorder) into the
// work directory, once.
func (b *bench) pack(ctx context.Context) (string, error) {
	if b.distDir != "" {
		return b.distDir, nil
	}
	start := time.Now()
	dist := filepath.Join(b.workDir, "dist")
	cmd := exec.CommandContext(ctx, "go", "run", "./tools/pack", "-o", dist, "./actions/...", "./tools/bench/recorder")
	cmd.Dir = b.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("pack the actions: %w\n%s", err, out)
	}
	b.distDir = dist
	b.note("packed the actions in %s", since(start))
	return dist, nil
}

// actionNames lists actions/*: the zips a deployment ships.
func (b *bench) actionNames() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(b.root, "actions"))
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// collect starts the HTTP server that the recorder action reports to.
func (b *bench) collect() (*record.Collector, string, error) {
	if b.collector != nil {
		return b.collector, b.collURL, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("listen for the recorder: %w", err)
	}
	b.collector = record.NewCollector()
	b.collSrv = &http.Server{Handler: b.collector, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.collSrv.Serve(ln) }()
	b.collURL = "http://" + ln.Addr().String() + "/arrivals"
	return b.collector, b.collURL, nil
}

func since(t time.Time) time.Duration {
	d := time.Since(t)
	if d > 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// couchRequest sends a bodiless request to CouchDB and returns the status.
func couchRequest(ctx context.Context, method, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// dbURL is the URL of database db on the bench's CouchDB.
func (b *bench) dbURL(db string) string {
	return strings.TrimRight(b.couchProc.URL, "/") + "/" + db
}

// indent writes through to w with every line indented as notes are.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	lines := strings.SplitAfter(string(p), "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(i.w, "      "+l); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
