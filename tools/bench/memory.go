package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

const (
	memObjects = 1_000_000
	memChanged = 100
	memBucket  = "bench-1m"
	memDB      = "bench_1m"
	memLimit   = 64 << 20
	// memDeadline is the poll action's timeout in manifest.yaml.
	memDeadline = 60 * time.Second
)

// startFakeS3 runs the fake listing in another process: this program again,
// with the hidden subcommand.
func (b *bench) startFakeS3(ctx context.Context) (*service.Proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program: %w", err)
	}
	port, err := service.FreePort()
	if err != nil {
		return nil, err
	}
	u := fmt.Sprintf("http://127.0.0.1:%d", port)
	p, err := service.StartProcess(ctx, service.ProcessOptions{
		Name:     "fake-s3",
		Path:     self,
		Args:     []string{fakeS3Command, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-bucket", memBucket, "-objects", strconv.Itoa(memObjects), "-seed", "42"},
		Port:     port,
		URL:      u,
		ReadyURL: u + "/_bench/health",
		LogFile:  b.logFile("fake-s3"),
	})
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, p)
	return p, nil
}

// fakeFires answers trigger fires as OpenWhisk does (202 with an activation
// id) and counts them.
type fakeFires struct{ n atomic.Int64 }

func (f *fakeFires) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.Contains(r.URL.Path, "/triggers/") {
		http.Error(w, `{"error":"the bench answers trigger fires only","code":"bench"}`, http.StatusNotFound)
		return
	}
	n := f.n.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"activationId": fmt.Sprintf("%032x", n)})
}

func runPeakMemory(ctx context.Context, b *bench) result {
	couchURL, err := b.couch(ctx)
	if err != nil {
		return failed(err)
	}
	dist, err := b.pack(ctx)
	if err != nil {
		return failed(err)
	}
	fake, err := b.startFakeS3(ctx)
	if err != nil {
		return failed(err)
	}
	b.note("fake S3 listing of %s objects served by another process (pid %d)", count(memObjects), fake.PID)

	fires := &fakeFires{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return failed(err)
	}
	fireSrv := &http.Server{Handler: fires, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = fireSrv.Serve(ln) }()
	defer fireSrv.Close()

	store, err := feed.OpenStore(ctx, couchURL, memDB)
	if err != nil {
		return failed(err)
	}
	defer store.Close()
	kr, err := feed.NewKeyring(b.encryptionKey)
	if err != nil {
		return failed(err)
	}
	local := &feed.Local{Store: store, Keyring: kr, Fire: func(context.Context, string, any) (bool, error) { return false, nil }}
	start := time.Now()
	// No checkpoints during the baseline: CREATE holds no lease, and a
	// checkpoint of a baseline longer than the default 30 s fails with
	// "lease lost".
	rec, err := local.Create(ctx, s3feed.Changes(s3feed.WithCheckpointEvery(0)), "bench", "poll-1m", map[string]any{
		s3feed.ParamBucket: memBucket, s3feed.ParamEndpoint: fake.URL, s3feed.ParamRegion: minioRegion,
		s3feed.ParamAccessKeyID: "bench", s3feed.ParamSecretKey: "bench-secret", s3feed.ParamPathStyle: true,
	})
	if err != nil {
		return failed(fmt.Errorf("create the trigger record on the fake bucket: %w", err))
	}
	baseline := time.Since(start)
	b.note("created the trigger record with its baseline of %s objects in %s (in this process, %d chunks)", count(int(rec.Stats.Objects)), since(start), len(rec.Snapshot.Chunks))
	if status, err := couchRequest(ctx, http.MethodPost, fmt.Sprintf("%s/_bench/changed?n=%d", fake.URL, memChanged)); err != nil || status != http.StatusNoContent {
		return failed(fmt.Errorf("change %d objects of the fake bucket: status %d: %v", memChanged, status, err))
	}

	dir := filepath.Join(b.workDir, "memory")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return failed(err)
	}
	exe, err := unzipExec(filepath.Join(dist, "poll.zip"), dir)
	if err != nil {
		return failed(err)
	}
	log, err := os.Create(b.logFile("poll-action"))
	if err != nil {
		return failed(err)
	}
	defer log.Close()
	p, err := startAction(exe, actionEnv(), log, 10*time.Second)
	if err != nil {
		return failed(err)
	}
	defer p.close()
	_, idle, err := p.memory()
	if err != nil {
		return failed(err)
	}
	params := map[string]any{
		feed.ParamRecord: rec.ID, feed.ParamCouchURL: couchURL, feed.ParamCouchDatabase: memDB, feed.ParamEncryptionKey: b.encryptionKey,
	}
	meta := map[string]string{
		"action_name": "/whisk.system/s3-trigger-feed-web/poll", "namespace": "whisk.system", "activation_id": randomHex(16),
		"transaction_id": randomHex(16), "api_host": "http://" + ln.Addr().String(), "api_key": "bench:bench",
	}
	b.note("poll action started (ready in %s, %s resident); polling …", ms(p.ready), mib(idle))
	start = time.Now()
	raw, err := p.invoke(params, meta, memDeadline)
	took := time.Since(start)
	if err != nil {
		return failed(err)
	}
	peak, rss, err := p.memory()
	if err != nil {
		return failed(err)
	}
	var res feed.PollResult
	if err := json.Unmarshal(raw, &res); err != nil || res.Error != "" || res.Trigger == "" {
		return failed(fmt.Errorf("the poll failed: %.500s", raw))
	}
	b.note("poll of %s objects in %s: %d events fired; peak RSS %s (%s after the poll)", count(int(res.Objects)), ms(took), fires.n.Load(), mib(peak), mib(rss))
	if res.Objects != memObjects || res.Events != memChanged {
		return failed(fmt.Errorf("the poll saw %d objects and fired %d events, expected %d and %d: %s", res.Objects, res.Events, memObjects, memChanged, raw))
	}
	pass, margin := atMost(float64(peak), memLimit)
	return result{measured: fmt.Sprintf("%s peak RSS (VmHWM)", mib(peak)), pass: pass, margin: margin, notes: []string{
		fmt.Sprintf("The poll action's own binary (the `exec` of the packed poll.zip) run as the actionloop proxy runs it: ack on fd 3, one activation line on stdin with the provider's parameters (record, couchdb_url, couchdb_database, encryption_key), a %.0f s deadline (the manifest's timeout), the result on fd 3. Peak memory is the process's VmHWM from /proc after the poll.", memDeadline.Seconds()),
		fmt.Sprintf("The bucket: %s objects served by a fake S3 in another process (this command re-executed: ListObjectsV2 as XML, pages of 1,000, sorted log-like keys, random-looking MD5 ETags from a seed). The trigger record and its baseline were made with `feed.Local.Create` in the bench process (%s); then %d objects got new ETags.", count(memObjects), ms(baseline), memChanged),
		fmt.Sprintf("The poll listed %s objects, merged them with the %d-chunk snapshot read from pouchdb-server, fired %d events (one per fire, to a local endpoint answering 202 as OpenWhisk does) and wrote the changed chunks, in %s.", count(int(res.Objects)), len(rec.Snapshot.Chunks), fires.n.Load(), ms(took)),
		fmt.Sprintf("Resident memory: %s when ready, %s peak, %s after the poll. The process runs with Go's defaults (no GOMEMLIMIT, GOGC 100).", mib(idle), mib(peak), mib(rss)),
	}}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
