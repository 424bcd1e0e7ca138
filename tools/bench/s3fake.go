package main

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// fakeS3Command is the hidden subcommand that serves a fake S3 listing in its
// own process, so that the poll action's memory is measured without the
// S3 server's.
const fakeS3Command = "__fake-s3"

// fakeListing is a deterministic bucket of n objects: sorted keys shaped like
// a log bucket, random-looking MD5 ETags derived from seed, sizes of a few
// KB to MB. changed objects (spread evenly) have another ETag, as if they
// had been rewritten.
type fakeListing struct {
	bucket  string
	n       int
	seed    uint64
	changed atomic.Int64
}

var fakeBaseTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// key returns the key of object i; keys sort as their indexes do.
func (l *fakeListing) key(i int) string {
	return fmt.Sprintf("logs/day-%03d/host-%02d/part-%07d.json.gz", i/40000, i/1000%40, i)
}

func (l *fakeListing) isChanged(i int) bool {
	c := int(l.changed.Load())
	if c <= 0 {
		return false
	}
	step := max(l.n/c, 1)
	return i%step == step/2 && i/step < c
}

// object returns object i as the listing shows it.
func (l *fakeListing) object(i int) fakeObject {
	var in [24]byte
	binary.LittleEndian.PutUint64(in[0:], l.seed)
	binary.LittleEndian.PutUint64(in[8:], uint64(i))
	version := uint64(0)
	if l.isChanged(i) {
		version = 1
	}
	binary.LittleEndian.PutUint64(in[16:], version)
	sum := md5.Sum(in[:])
	size := 1000 + int64(binary.LittleEndian.Uint32(sum[:4])%(5<<20))
	return fakeObject{
		Key:          l.key(i),
		LastModified: fakeBaseTime.Add(time.Duration(i)*time.Second + time.Duration(version)*time.Hour).Format("2006-01-02T15:04:05.000Z"),
		ETag:         `"` + hex.EncodeToString(sum[:]) + `"`,
		Size:         size,
		StorageClass: "STANDARD",
	}
}

type fakeObject struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

type listBucketResult struct {
	XMLName               xml.Name     `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string       `xml:"Name"`
	Prefix                string       `xml:"Prefix"`
	StartAfter            string       `xml:"StartAfter,omitempty"`
	ContinuationToken     string       `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string       `xml:"NextContinuationToken,omitempty"`
	KeyCount              int          `xml:"KeyCount"`
	MaxKeys               int          `xml:"MaxKeys"`
	IsTruncated           bool         `xml:"IsTruncated"`
	Contents              []fakeObject `xml:"Contents"`
}

type s3Error struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	b, _ := xml.Marshal(s3Error{Code: code, Message: msg})
	_, _ = w.Write(append([]byte(xml.Header), b...))
}

// ServeHTTP answers ListObjectsV2 (GET /bucket?list-type=2), HEAD /bucket,
// GET /bucket?location, and the bench's own GET /_bench/health and
// POST /_bench/changed?n=N. Requests are not authenticated.
func (l *fakeListing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	q := r.URL.Query()
	switch {
	case path == "_bench/health":
		w.WriteHeader(http.StatusOK)
		return
	case path == "_bench/changed" && r.Method == http.MethodPost:
		n, err := strconv.Atoi(q.Get("n"))
		if err != nil || n < 0 || n > l.n {
			http.Error(w, fmt.Sprintf("query n: expected 0 to %d changed objects", l.n), http.StatusBadRequest)
			return
		}
		l.changed.Store(int64(n))
		w.WriteHeader(http.StatusNoContent)
		return
	case path != l.bucket:
		writeS3Error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	case r.Method == http.MethodHead:
		w.WriteHeader(http.StatusOK)
		return
	case r.Method == http.MethodGet && q.Has("location"):
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write([]byte(xml.Header + `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`))
		return
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		l.list(w, q)
		return
	}
	writeS3Error(w, http.StatusNotImplemented, "NotImplemented", "the bench's fake S3 serves listings only")
}

func (l *fakeListing) list(w http.ResponseWriter, q map[string][]string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	maxKeys := 1000
	if v := get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeS3Error(w, http.StatusBadRequest, "InvalidArgument", "max-keys must be a non-negative integer")
			return
		}
		maxKeys = min(n, 1000)
	}
	prefix, startAfter, token := get("prefix"), get("start-after"), get("continuation-token")
	start := sort.Search(l.n, func(i int) bool { return l.key(i) >= prefix })
	if startAfter != "" {
		start = max(start, sort.Search(l.n, func(i int) bool { return l.key(i) > startAfter }))
	}
	if token != "" {
		i, err := strconv.Atoi(token)
		if err != nil || i < 0 || i > l.n {
			writeS3Error(w, http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
			return
		}
		start = i
	}
	res := listBucketResult{Name: l.bucket, Prefix: prefix, StartAfter: startAfter, ContinuationToken: token, MaxKeys: maxKeys,
		Contents: make([]fakeObject, 0, maxKeys)}
	i := start
	for ; i < l.n && len(res.Contents) < maxKeys; i++ {
		o := l.object(i)
		if !strings.HasPrefix(o.Key, prefix) {
			i = l.n
			break
		}
		res.Contents = append(res.Contents, o)
	}
	res.KeyCount = len(res.Contents)
	if i < l.n && strings.HasPrefix(l.key(i), prefix) {
		res.IsTruncated = true
		res.NextContinuationToken = strconv.Itoa(i)
	}
	b, err := xml.Marshal(res)
	if err != nil {
		writeS3Error(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	_, _ = w.Write(append([]byte(xml.Header), b...))
}

// fakeS3Main runs the hidden subcommand: serve a fakeListing on -addr until
// SIGTERM.
func fakeS3Main(args []string) int {
	fs := flag.NewFlagSet(fakeS3Command, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	bucket := fs.String("bucket", "bench-1m", "bucket name")
	n := fs.Int("objects", 1_000_000, "objects in the bucket")
	seed := fs.Uint64("seed", 1, "seed of the ETags")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake s3:", err)
		return 1
	}
	srv := &http.Server{Handler: &fakeListing{bucket: *bucket, n: *n, seed: *seed}, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "fake s3:", err)
		return 1
	}
	return 0
}
