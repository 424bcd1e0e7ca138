package service

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Webhook is a MinIO notification target that POSTs bucket events to an
// HTTP endpoint. A bucket notification configuration refers to it by ARN.
type Webhook struct {
	ID        string // letters, digits and underscores; part of the ARN
	Endpoint  string // http or https URL receiving the POSTs
	AuthToken string // sent as "Authorization: Bearer <token>"; "" = no header
	// QueueDir keeps events while the endpoint is down and delivers them
	// later; "" = events that cannot be delivered are dropped.
	QueueDir string
}

// ARN returns the ARN that names the target in a bucket notification
// configuration, arn:minio:sqs::<ID>:webhook.
func (w Webhook) ARN() string { return "arn:minio:sqs::" + w.ID + ":webhook" }

// MinIOOptions configure StartMinIO.
type MinIOOptions struct {
	Port         int       // S3 API port; 0 = a free port
	ConsolePort  int       // web console port; 0 = console disabled
	Dir          string    // data directory; "" = a temporary one that Stop removes
	AccessKey    string    // root user, at least 3 characters
	SecretKey    string    // root password, at least 8 characters; never logged
	Webhooks     []Webhook // notification targets
	LogFile      string    // "" = a temporary file that Stop removes
	Binary       string    // minio executable; "" = the cached build (MinIOBinaryPath)
	ReadyTimeout time.Duration
	Detach       bool // see ProcessOptions.Detach
}

var webhookID = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

func (o MinIOOptions) validate() error {
	if len(o.AccessKey) < 3 {
		return fmt.Errorf("%w: AccessKey must have at least 3 characters", ErrInvalidOptions)
	}
	if len(o.SecretKey) < 8 {
		return fmt.Errorf("%w: SecretKey must have at least 8 characters", ErrInvalidOptions)
	}
	seen := map[string]bool{}
	for i, w := range o.Webhooks {
		if !webhookID.MatchString(w.ID) {
			return fmt.Errorf("%w: Webhooks[%d].ID %q must be letters, digits or underscores", ErrInvalidOptions, i, w.ID)
		}
		if seen[strings.ToUpper(w.ID)] {
			return fmt.Errorf("%w: Webhooks[%d].ID %q is used twice", ErrInvalidOptions, i, w.ID)
		}
		seen[strings.ToUpper(w.ID)] = true
		u, err := url.Parse(w.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: Webhooks[%d].Endpoint %q must be an http or https URL", ErrInvalidOptions, i, w.Endpoint)
		}
	}
	return nil
}

// StartMinIO starts a MinIO server on 127.0.0.1 and waits until it is ready.
// Webhook targets may be down at the start: MinIO starts anyway, accepts
// bucket notification configurations naming them, and delivers once they
// answer (events in between are kept only with a QueueDir). ctx bounds only
// the start. A missing binary gives an error wrapping ErrNotInstalled.
func StartMinIO(ctx context.Context, opts MinIOOptions) (*Proc, error) {
	const name = "minio"
	if err := opts.validate(); err != nil {
		return nil, &StartError{Service: name, Port: opts.Port, Err: err}
	}
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = MinIOBinaryPath(); err != nil {
			return nil, &StartError{Service: name, Port: opts.Port, Err: err}
		}
	}
	env := []string{
		"MINIO_ROOT_USER=" + opts.AccessKey,
		"MINIO_ROOT_PASSWORD=" + opts.SecretKey,
		"MINIO_UPDATE=off",
	}
	if opts.ConsolePort == 0 {
		env = append(env, "MINIO_BROWSER=off")
	}
	for _, w := range opts.Webhooks {
		env = append(env,
			"MINIO_NOTIFY_WEBHOOK_ENABLE_"+w.ID+"=on",
			"MINIO_NOTIFY_WEBHOOK_ENDPOINT_"+w.ID+"="+w.Endpoint,
		)
		if w.AuthToken != "" {
			env = append(env, "MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_"+w.ID+"="+w.AuthToken)
		}
		if w.QueueDir != "" {
			dir, _, err := serviceDir(w.QueueDir, name)
			if err != nil {
				return nil, &StartError{Service: name, Port: opts.Port, Err: fmt.Errorf("webhook %s queue: %w", w.ID, err)}
			}
			env = append(env, "MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_"+w.ID+"="+dir)
		}
	}
	timeout := opts.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}

	return withFreePort(opts.Port, func(port int) (*Proc, error) {
		dataDir, cleanup, err := serviceDir(opts.Dir, name)
		if err != nil {
			return nil, &StartError{Service: name, Port: port, Err: err}
		}
		args := []string{"server", dataDir, "--address", "127.0.0.1:" + strconv.Itoa(port)}
		var extra []int
		if opts.ConsolePort > 0 {
			args = append(args, "--console-address", "127.0.0.1:"+strconv.Itoa(opts.ConsolePort))
			extra = []int{opts.ConsolePort}
		}
		popts := ProcessOptions{
			Name:         name,
			Path:         bin,
			Args:         args,
			Env:          env,
			Port:         port,
			ExtraPorts:   extra,
			URL:          fmt.Sprintf("http://127.0.0.1:%d", port),
			ReadyURL:     fmt.Sprintf("http://127.0.0.1:%d/minio/health/ready", port),
			LogFile:      opts.LogFile,
			ReadyTimeout: timeout,
			Detach:       opts.Detach,
			dropEnv: func(k string) bool {
				return strings.HasPrefix(k, "MINIO_") || strings.HasPrefix(k, "_MINIO")
			},
			cleanup: cleanup,
		}
		if _, err := ensureLogFile(&popts); err != nil {
			runAll(cleanup)
			return nil, &StartError{Service: name, Port: port, Err: err}
		}
		p, err := StartProcess(ctx, popts)
		if err != nil {
			return nil, err
		}
		// /minio/health/ready can answer before the object layer is up; S3
		// requests then get 503 XMinioServerNotInitialized. Wait for an S3
		// answer that is not that.
		if err := waitS3(ctx, p.URL, timeout); err != nil {
			_ = p.Stop(context.WithoutCancel(ctx))
			return nil, &StartError{Service: name, Port: port, LogFile: p.LogFile, Err: err}
		}
		return p, nil
	})
}

// waitS3 waits until an unsigned ListBuckets on base gets an answer other
// than 503 (MinIO answers 403 once it serves S3).
func waitS3(ctx context.Context, base string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, 500*time.Millisecond) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: S3 requests still answered 503 (server not initialized) after %s", ErrNotReady, timeout)
		case <-time.After(delay):
		}
	}
}
