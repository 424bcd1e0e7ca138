package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// stackEnv is what the demo needs from .whiskfeed/stack.env, the file that
// `go run ./tools/stack up` writes.
type stackEnv struct {
	APIHost       string // WHISK_APIHOST
	GuestAuth     string // WHISK_AUTH_GUEST, uuid:key
	S3Endpoint    string // S3_ENDPOINT
	S3Region      string // S3_REGION, default us-east-1
	S3AccessKeyID string // S3_ACCESS_KEY_ID
	S3SecretKey   string // S3_SECRET_ACCESS_KEY
	// secrets are every value of the file that must never be printed.
	secrets []string
}

// errStackNotUp says that stack.env does not exist.
var errStackNotUp = errors.New("the local stack is not up")

// secretKeys name the values of stack.env that must never appear in output.
var secretKeys = []string{"WHISK_AUTH_GUEST", "WHISK_AUTH_SYSTEM", "S3_SECRET_ACCESS_KEY",
	"WHISKFEED_WEBHOOK_TOKEN", "WHISKFEED_ENCRYPTION_KEY"}

// readStackEnv reads and checks the stack.env file at path.
func readStackEnv(path string) (stackEnv, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return stackEnv{}, fmt.Errorf("%w: %s does not exist; start the stack with `make up` (or `go run ./tools/stack up`)", errStackNotUp, path)
	}
	if err != nil {
		return stackEnv{}, fmt.Errorf("read stack environment: %w", err)
	}
	defer f.Close()
	env, err := parseStackEnv(f)
	if err != nil {
		return stackEnv{}, fmt.Errorf("read stack environment %s: %w", path, err)
	}
	return env, nil
}

// parseStackEnv reads KEY=VALUE lines (blank lines and # comments skipped,
// an optional "export " and surrounding quotes allowed) and checks that the
// demo's keys are there.
func parseStackEnv(r io.Reader) (stackEnv, error) {
	vals := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || strings.TrimSpace(k) == "" {
			return stackEnv{}, fmt.Errorf("line %d: expected KEY=VALUE", n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vals[strings.TrimSpace(k)] = v
	}
	if err := sc.Err(); err != nil {
		return stackEnv{}, err
	}
	env := stackEnv{
		APIHost:       vals["WHISK_APIHOST"],
		GuestAuth:     vals["WHISK_AUTH_GUEST"],
		S3Endpoint:    vals["S3_ENDPOINT"],
		S3Region:      vals["S3_REGION"],
		S3AccessKeyID: vals["S3_ACCESS_KEY_ID"],
		S3SecretKey:   vals["S3_SECRET_ACCESS_KEY"],
	}
	if env.S3Region == "" {
		env.S3Region = "us-east-1"
	}
	var missing []string
	for _, k := range []string{"WHISK_APIHOST", "WHISK_AUTH_GUEST", "S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"} {
		if vals[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return stackEnv{}, fmt.Errorf("missing %s: expected the file written by `go run ./tools/stack up`", strings.Join(missing, ", "))
	}
	for _, k := range secretKeys {
		if v := vals[k]; v != "" {
			env.secrets = append(env.secrets, v)
			if _, key, ok := strings.Cut(v, ":"); ok && k != "WHISKFEED_ENCRYPTION_KEY" && len(key) >= 16 {
				env.secrets = append(env.secrets, key) // the key half of uuid:key
			}
		}
	}
	return env, nil
}

// leaks reports whether a secret of env occurs in s.
func (e stackEnv) leaks(s string) bool {
	for _, v := range e.secrets {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// redact replaces every secret of env in s by "***".
func (e stackEnv) redact(s string) string {
	for _, v := range e.secrets {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}
