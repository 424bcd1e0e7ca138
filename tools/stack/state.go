package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// The well-known development keys of upstream OpenWhisk for the guest and
// whisk.system namespaces: public, for local use only.
const (
	guestAuth  = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
	systemAuth = "789c46b1-71f6-4ed5-8c54-816aa4f8c502:abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
)

// Fixed parts of the stack.
const (
	s3AccessKey    = "whiskfeed"
	s3Region       = "us-east-1"
	webhookID      = "WHISKFEED"
	couchDatabase  = "whiskfeed"
	hookActionPath = "/api/v1/web/whisk.system/s3-trigger-feed-web/hook"
)

// services in start order; down stops them in reverse.
var services = []string{"couchdb", "localwhisk", "minio"}

func (c config) path(elem ...string) string {
	return filepath.Join(append([]string{c.stateDir}, elem...)...)
}

func (c config) logFile(name string) string { return c.path("logs", name+".log") }

// secrets are generated once per state directory and kept in secrets.env.
type secrets struct {
	encryptionKey string // base64 of 32 random bytes
	s3SecretKey   string
	webhookToken  string
}

// loadSecrets reads secrets.env and generates what is missing in it.
func loadSecrets(cfg config) (secrets, error) {
	path := cfg.path("secrets.env")
	vals, err := readEnvFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return secrets{}, err
	}
	if vals == nil {
		vals = map[string]string{}
	}
	changed := false
	gen := func(key string, mk func() (string, error)) (string, error) {
		if v := vals[key]; v != "" {
			return v, nil
		}
		v, err := mk()
		if err != nil {
			return "", fmt.Errorf("generate %s: %w", key, err)
		}
		vals[key], changed = v, true
		return v, nil
	}
	var s secrets
	if s.encryptionKey, err = gen("WHISKFEED_ENCRYPTION_KEY", func() (string, error) {
		b, err := randomBytes(32)
		return base64.StdEncoding.EncodeToString(b), err
	}); err != nil {
		return s, err
	}
	hexSecret := func(n int) func() (string, error) {
		return func() (string, error) {
			b, err := randomBytes(n)
			return hex.EncodeToString(b), err
		}
	}
	if s.s3SecretKey, err = gen("S3_SECRET_ACCESS_KEY", hexSecret(20)); err != nil {
		return s, err
	}
	if s.webhookToken, err = gen("WHISKFEED_WEBHOOK_TOKEN", hexSecret(32)); err != nil {
		return s, err
	}
	if cfg.webhookToken != "" {
		s.webhookToken = cfg.webhookToken
	}
	if changed {
		if err := writeEnvFile(path, "secrets of the local stack, generated once by `go run ./tools/stack up`", vals); err != nil {
			return s, err
		}
	}
	return s, nil
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := rand.Read(b)
	return b, err
}

// readEnvFile reads KEY=VALUE lines, skipping blank lines and # comments.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			vals[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return vals, nil
}

// writeEnvFile writes KEY=VALUE lines sorted by key, readable only by the
// owner, atomically.
func writeEnvFile(path, comment string, vals map[string]string) error {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", comment)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, vals[k])
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Pid files: one JSON service.Record per service in <state>/pids.

func writeRecord(cfg config, rec service.Record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("write pid file of %s: %w", rec.Name, err)
	}
	path := cfg.path("pids", rec.Name+".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write pid file of %s: %w", rec.Name, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write pid file of %s: %w", rec.Name, err)
	}
	return nil
}

func removeRecord(cfg config, name string) error {
	err := os.Remove(cfg.path("pids", name+".json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove pid file of %s: %w", name, err)
	}
	return nil
}

// readRecords returns the pid files, known services first in start order.
func readRecords(cfg config) ([]service.Record, error) {
	entries, err := os.ReadDir(cfg.path("pids"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pid files: %w", err)
	}
	var recs []service.Record
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(cfg.path("pids", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read pid file of %s: %w", name, err)
		}
		var rec service.Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("read pid file of %s: %w", name, err)
		}
		rec.Name = name
		recs = append(recs, rec)
	}
	order := func(name string) int {
		for i, s := range services {
			if s == name {
				return i
			}
		}
		return len(services)
	}
	sort.SliceStable(recs, func(i, j int) bool { return order(recs[i].Name) < order(recs[j].Name) })
	return recs, nil
}
