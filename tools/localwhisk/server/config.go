package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/localwhisk/runner"
)

// Executor runs one activation of a code action; *runner.Pool implements it.
// Run must be safe for concurrent use and must return when ctx is done.
type Executor interface {
	Run(ctx context.Context, spec runner.Spec, act runner.Activation) runner.Result
}

// Limits are per-namespace throttles; zero means unlimited.
type Limits struct {
	InvocationsPerMinute  int `json:"invocationsPerMinute,omitempty"`
	ConcurrentInvocations int `json:"concurrentInvocations,omitempty"`
	FiresPerMinute        int `json:"firesPerMinute,omitempty"`
}

// Config configures a Server. The zero value serves the two built-in
// identities from memory without throttles and cannot run code actions.
type Config struct {
	// Executor runs code actions. Nil makes every invocation of a code action
	// end as a whisk internal error (built-in actions still run).
	Executor Executor
	// APIHost is the server's own URL, given to actions as __OW_API_HOST and
	// to built-in actions; default http://127.0.0.1:3233.
	APIHost string
	// Identities that may authenticate; nil means DefaultIdentities().
	Identities []Identity
	// Limits apply to every namespace without an entry in NamespaceLimits.
	Limits Limits
	// NamespaceLimits override Limits for single namespaces.
	NamespaceLimits map[string]Limits
	// DataDir keeps entities across restarts; empty keeps them in memory.
	DataDir string
	// ActivationsMax bounds the activations kept (newest first); default 10000.
	ActivationsMax int
	// MaxBlockingWait caps how long a blocking invoke waits before answering
	// 202; default (and upstream's maximum) 60 s.
	MaxBlockingWait time.Duration
	// Logger receives one line per request; default slog.Default().
	Logger *slog.Logger
	// Verbose adds request and response bodies (secrets redacted) to the log.
	Verbose bool
}

func (c Config) withDefaults() Config {
	if c.APIHost == "" {
		c.APIHost = "http://127.0.0.1:3233"
	}
	if c.Identities == nil {
		c.Identities = DefaultIdentities()
	}
	if c.ActivationsMax <= 0 {
		c.ActivationsMax = 10000
	}
	if c.MaxBlockingWait <= 0 || c.MaxBlockingWait > maxBlockingWaitMillis*time.Millisecond {
		c.MaxBlockingWait = maxBlockingWaitMillis * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// LimitsFile is the JSON accepted by ParseLimits:
//
//	{"default": {"firesPerMinute": 60},
//	 "namespaces": {"guest": {"invocationsPerMinute": 10, "concurrentInvocations": 2}}}
type LimitsFile struct {
	Default    Limits            `json:"default"`
	Namespaces map[string]Limits `json:"namespaces"`
}

// ParseLimits reads a LimitsFile, rejecting unknown fields and negative values.
func ParseLimits(r io.Reader) (LimitsFile, error) {
	var lf LimitsFile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&lf); err != nil {
		return LimitsFile{}, fmt.Errorf("parse limits: %w", err)
	}
	check := func(where string, l Limits) error {
		if l.InvocationsPerMinute < 0 || l.ConcurrentInvocations < 0 || l.FiresPerMinute < 0 {
			return fmt.Errorf("parse limits: %s: limits must be >= 0 (0 = unlimited)", where)
		}
		return nil
	}
	if err := check("default", lf.Default); err != nil {
		return LimitsFile{}, err
	}
	for ns, l := range lf.Namespaces {
		if err := check("namespace "+ns, l); err != nil {
			return LimitsFile{}, err
		}
	}
	return lf, nil
}
