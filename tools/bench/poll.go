package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/whiskfeed/whiskfeed/pkg/feed"
	"github.com/whiskfeed/whiskfeed/pkg/s3feed"
)

// The cached MinIO bucket of the poll rows.
const (
	pollBucket   = "bench-100k"
	pollObjects  = 100_000
	pollChanged  = 100
	pollRounds   = 7
	pollWarmups  = 2
	pollMaxRatio = 1.2
	pollDB       = "bench_poll"
)

// pollKey is the key of object i of the cached bucket.
func pollKey(i int) string {
	return fmt.Sprintf("logs/2026/11/%02d/host-%02d/part-%06d.json.gz", 1+i/2000%28, i/50%40, i)
}

// pollFixture is a trigger record on the cached bucket, driven in process
// by feed.Local exactly as the poll action drives it, with state in
// pouchdb-server. Its fires are accepted at once and counted.
type pollFixture struct {
	local   *feed.Local
	src     *s3feed.ChangesSource
	id      string
	created time.Duration
	fires   atomic.Int64
	// couchIO and s3IO time the poll's requests to CouchDB and S3.
	couchIO, s3IO *timing
}

// fillPollBucket makes sure the cached bucket holds its 100,000 objects,
// putting only the missing ones (all of them on the first run).
func (b *bench) fillPollBucket(ctx context.Context) error {
	c := b.s3Client()
	if err := ensureBucket(ctx, c, pollBucket); err != nil {
		return err
	}
	have, err := listKeys(ctx, c, pollBucket)
	if err != nil {
		return err
	}
	present := make(map[string]bool, len(have))
	for _, k := range have {
		present[k] = true
	}
	var missing []string
	for i := range pollObjects {
		if k := pollKey(i); !present[k] {
			missing = append(missing, k)
		}
	}
	if len(have)-(pollObjects-len(missing)) > 0 {
		return fmt.Errorf("bucket %s holds %d objects the bench did not put: remove %s to rebuild it", pollBucket, len(have)-(pollObjects-len(missing)), b.cfg.cacheDir)
	}
	if len(missing) == 0 {
		b.note("bucket %s: %s objects (cached)", pollBucket, count(pollObjects))
		return nil
	}
	b.note("bucket %s: putting %s objects, %d at a time (once; kept in the cache directory)", pollBucket, count(len(missing)), putConcurrency)
	start := time.Now()
	err = putAll(ctx, c, pollBucket, missing, func(k string) string { return "body of " + k }, func(n int) {
		b.note("  %s objects put (%s)", count(n), rate(n, time.Since(start)))
	})
	if err != nil {
		return err
	}
	b.filled = true
	b.note("bucket %s filled in %s", pollBucket, since(start))
	return nil
}

// poll returns the fixture, creating the record (with its baseline) on first
// use.
func (b *bench) poll(ctx context.Context) (*pollFixture, error) {
	if b.fixture != nil {
		return b.fixture, nil
	}
	couchURL, err := b.couch(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := b.minio(ctx); err != nil {
		return nil, err
	}
	if err := b.fillPollBucket(ctx); err != nil {
		return nil, err
	}
	fx := &pollFixture{couchIO: newTiming(), s3IO: newTiming()}
	store, err := feed.OpenStore(ctx, couchURL, pollDB, feed.WithHTTPClient(&http.Client{Transport: fx.couchIO}))
	if err != nil {
		return nil, err
	}
	kr, err := feed.NewKeyring(b.encryptionKey)
	if err != nil {
		return nil, err
	}
	// The S3 client the source would build, timed: each attempt times out
	// after 20 s.
	fx.src = s3feed.Changes(s3feed.WithHTTPClient(&http.Client{Transport: fx.s3IO, Timeout: 20 * time.Second}))
	fx.local = &feed.Local{Store: store, Keyring: kr, Fire: func(context.Context, string, any) (bool, error) {
		fx.fires.Add(1)
		return false, nil
	}}
	start := time.Now()
	rec, err := fx.local.Create(ctx, fx.src, "bench", "poll-100k", b.minioParams(pollBucket))
	if err != nil {
		return nil, fmt.Errorf("create the trigger record on %s: %w", pollBucket, err)
	}
	fx.created = time.Since(start)
	fx.id = rec.ID
	b.note("created the trigger record with its baseline of %s objects in %s (%d snapshot chunks)", count(int(rec.Stats.Objects)), since(start), len(rec.Snapshot.Chunks))
	b.fixture = fx
	return fx, nil
}

// rewrite puts n distinct random objects of the cached bucket again with new
// bodies: n modifications.
func (b *bench) rewrite(ctx context.Context, r *rand.Rand, n int) error {
	seen := map[int]bool{}
	keys := make([]string, 0, n)
	for len(keys) < n {
		i := r.IntN(pollObjects)
		if !seen[i] {
			seen[i] = true
			keys = append(keys, pollKey(i))
		}
	}
	tag := strconv.FormatUint(r.Uint64(), 16)
	return putAll(ctx, b.s3Client(), pollBucket, keys, func(k string) string { return "body of " + k + " version " + tag }, nil)
}

func runPollCycle(ctx context.Context, b *bench) result {
	fx, err := b.poll(ctx)
	if err != nil {
		return failed(err)
	}
	c := b.s3Client()
	// Warm both paths (connections, MinIO's and the kernel's caches), untimed.
	for range pollWarmups {
		if _, err := fx.local.Poll(ctx, fx.src, fx.id); err != nil {
			return failed(fmt.Errorf("warm-up poll: %w", err))
		}
		if _, err := bareList(ctx, c, pollBucket); err != nil {
			return failed(err)
		}
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	var polls, lists, s3s, couches, ratios []time.Duration // ratios in thousandths
	var couchReqs []int
	var notes []string
	for round := 1; round <= pollRounds; round++ {
		if err := b.rewrite(ctx, r, pollChanged); err != nil {
			return failed(err)
		}
		before := fx.fires.Load()
		var dPoll, dList time.Duration
		var s3Stat, couchStat map[string]reqStat
		measurePoll := func() error {
			fx.s3IO.take()
			fx.couchIO.take()
			start := time.Now()
			res, err := fx.local.Poll(ctx, fx.src, fx.id)
			dPoll = time.Since(start)
			s3Stat, couchStat = fx.s3IO.take(), fx.couchIO.take()
			if err == nil && res.Error != "" {
				err = fmt.Errorf("poll: %s", res.Error)
			}
			return err
		}
		measureList := func() error {
			start := time.Now()
			n, err := bareList(ctx, c, pollBucket)
			dList = time.Since(start)
			if err == nil && n != pollObjects {
				err = fmt.Errorf("listed %d objects, expected %d", n, pollObjects)
			}
			return err
		}
		first, second := measurePoll, measureList
		if round%2 == 0 { // alternate the order, so that drift does not favour one side
			first, second = measureList, measurePoll
		}
		if err := first(); err != nil {
			return failed(err)
		}
		if err := second(); err != nil {
			return failed(err)
		}
		if fired := fx.fires.Load() - before; fired != pollChanged {
			return failed(fmt.Errorf("round %d: the poll fired %d events, expected %d", round, fired, pollChanged))
		}
		s3, couch := sum(s3Stat), sum(couchStat)
		polls, lists = append(polls, dPoll), append(lists, dList)
		s3s, couches, couchReqs = append(s3s, s3.total), append(couches, couch.total), append(couchReqs, couch.n)
		ratio := dPoll.Seconds() / dList.Seconds()
		ratios = append(ratios, time.Duration(ratio*1000))
		line := fmt.Sprintf("round %d: poll %s (S3 requests %s, CouchDB requests %s in %d: %d GET, %d PUT), bare listing %s: %.2f×",
			round, ms(dPoll), ms(s3.total), ms(couch.total), couch.n, couchStat["GET"].n, couchStat["PUT"].n, ms(dList), ratio)
		b.note("%s", line)
		notes = append(notes, line)
	}
	ratio := float64(median(ratios)) / 1000
	mp, ml := median(polls), median(lists)
	ms3, mcouch := median(s3s), median(couches)
	pass, margin := atMost(ratio, pollMaxRatio)
	head := []string{
		fmt.Sprintf("A trigger record on a MinIO bucket of %s objects (keys like `%s`, bodies of a few dozen bytes, so ETags are real MD5s), driven by `feed.Local` exactly as the poll action drives it: lease, listing, merge with the snapshot read from pouchdb-server, fires, changed chunks written, record updated. Fires go to an in-process function that accepts them at once (the cost of OpenWhisk is row 7's).",
			count(pollObjects), pollKey(0)),
		fmt.Sprintf("After %d untimed warm-up polls and listings, each of %d rounds rewrites %d random objects (untimed), then times one poll and one bare paginated `ListObjectsV2` of the same bucket (AWS SDK paginator, pages of 1,000) back to back, alternating which goes first. The verdict is the median of the rounds' ratios (poll ÷ listing), which cancels the drift of MinIO's speed between rounds; the medians of the times are poll %s, listing %s.",
			pollWarmups, pollRounds, pollChanged, ms(mp), ms(ml)),
		fmt.Sprintf("Where the poll's time goes (its HTTP requests timed from sending to the end of the response body, added up; medians over the rounds): S3 listing requests %s, CouchDB requests %s (the previous snapshot's chunks read, the changed chunks written, the lease and the record). The poll overlaps them: it reads the next listing page and the next chunks of the snapshot while it merges the current ones, and writes changed chunks in the background, so its wall time is close to its S3 requests alone, which take %.2f× the bare listing; the rest is mostly the CPU that pouchdb-server and the poll spend beside MinIO on the same cores.",
			ms(ms3), ms(mcouch), ms3.Seconds()/ml.Seconds()),
		fmt.Sprintf("The bare listing reads %s; the baseline at CREATE (listing, snapshot written) took %s.", rate(pollObjects, ml), ms(fx.created)),
	}
	return result{measured: fmt.Sprintf("%.2f× the bare listing (median of %d rounds; poll %s, listing %s)", ratio, pollRounds, ms(mp), ms(ml)), pass: pass, margin: margin, notes: append(head, notes...)}
}

func runUnchangedPoll(ctx context.Context, b *bench) result {
	fx, err := b.poll(ctx)
	if err != nil {
		return failed(err)
	}
	// Settle: whatever changed before is fired now.
	if _, err := fx.local.Poll(ctx, fx.src, fx.id); err != nil {
		return failed(err)
	}
	dbURL := b.dbURL(pollDB)
	before, err := updateSeq(ctx, dbURL)
	if err != nil {
		return failed(err)
	}
	fires := fx.fires.Load()
	start := time.Now()
	res, err := fx.local.Poll(ctx, fx.src, fx.id)
	d := time.Since(start)
	if err != nil {
		return failed(err)
	}
	after, err := updateSeq(ctx, dbURL)
	if err != nil {
		return failed(err)
	}
	if f := fx.fires.Load() - fires; f != 0 {
		return failed(fmt.Errorf("the unchanged poll fired %d events", f))
	}
	written := after - before
	ids, err := changedDocs(ctx, dbURL, before)
	if err != nil {
		return failed(err)
	}
	pass, margin := atMost(float64(written), 2)
	if written == 0 {
		margin = "nothing written"
	}
	b.note("poll of %s objects in %s: %d documents written (%s)", count(int(res.Objects)), ms(d), written, strings.Join(ids, ", "))
	return result{measured: fmt.Sprintf("%d documents written", written), pass: pass, margin: margin, notes: []string{
		fmt.Sprintf("The trigger record of row 2 on the same %s-object MinIO bucket, polled once to settle, then once more with nothing changed (%s, %s objects, no event).", count(pollObjects), ms(d), count(int(res.Objects))),
		fmt.Sprintf("Documents written = the database's `update_seq` after minus before (every write and delete counts, several writes of one document too): %d. Documents touched, from `_changes`: %s.", written, strings.Join(ids, ", ")),
	}}
}

// updateSeq reads the update_seq of a database: a number (pouchdb-server)
// or "N-…" (CouchDB 2 and later).
func updateSeq(ctx context.Context, dbURL string) (int64, error) {
	var info struct {
		UpdateSeq json.RawMessage `json:"update_seq"`
	}
	if err := getJSON(ctx, dbURL, &info); err != nil {
		return 0, err
	}
	s := strings.Trim(string(info.UpdateSeq), `"`)
	s, _, _ = strings.Cut(s, "-")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read update_seq of %s: %q is not a sequence number", dbURL, info.UpdateSeq)
	}
	return n, nil
}

// changedDocs lists the ids of the documents changed after seq.
func changedDocs(ctx context.Context, dbURL string, seq int64) ([]string, error) {
	var ch struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	if err := getJSON(ctx, dbURL+"/_changes?since="+strconv.FormatInt(seq, 10), &ch); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ch.Results))
	for _, r := range ch.Results {
		ids = append(ids, "`"+r.ID+"`")
	}
	return ids, nil
}

func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ms formats d in milliseconds, or seconds above ten.
func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	if d >= 100*time.Millisecond {
		return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
