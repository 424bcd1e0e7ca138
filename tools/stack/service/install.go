package service

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// The MinIO build that the stack runs, from the Go module proxy.
const (
	MinIOModule  = "github.com/minio/minio"
	MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"
)

// InstallOption configures InstallNodeDeps, MinIOBinary and MinIOBinaryPath.
type InstallOption func(*installConfig)

type installConfig struct {
	progress io.Writer
	cacheDir string
}

// WithProgress sends progress messages to w (default os.Stderr).
func WithProgress(w io.Writer) InstallOption {
	return func(c *installConfig) { c.progress = w }
}

// WithCacheDir keeps built binaries under dir instead of
// <user cache dir>/whiskfeed.
func WithCacheDir(dir string) InstallOption {
	return func(c *installConfig) { c.cacheDir = dir }
}

func newInstallConfig(opts []InstallOption) (installConfig, error) {
	c := installConfig{progress: os.Stderr}
	for _, o := range opts {
		o(&c)
	}
	if c.cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return c, fmt.Errorf("find the user cache directory: %w", err)
		}
		c.cacheDir = filepath.Join(base, "whiskfeed")
	}
	return c, nil
}

// InstallNodeDeps runs `npm ci --ignore-scripts` in dir ("" = tools/stack/npm
// of the repository), unless dir/node_modules already holds exactly what
// package-lock.json pins. It does not run package install scripts.
func InstallNodeDeps(ctx context.Context, dir string, opts ...InstallOption) error {
	cfg, err := newInstallConfig(opts)
	if err != nil {
		return err
	}
	if dir == "" {
		if dir, err = NodeDir(); err != nil {
			return fmt.Errorf("install node packages: %w", err)
		}
	}
	if ok, _ := nodeModulesMatch(dir); ok {
		fmt.Fprintf(cfg.progress, "node_modules matches package-lock.json\n")
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("install node packages: %w: npm is not in PATH: install Node.js and npm", ErrNotInstalled)
	}
	fmt.Fprintf(cfg.progress, "npm ci --ignore-scripts in %s\n", dir)
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = cfg.progress, cfg.progress
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("install node packages: npm ci in %s: %w", dir, err)
	}
	if ok, err := nodeModulesMatch(dir); !ok {
		return fmt.Errorf("install node packages: node_modules does not match package-lock.json after npm ci: %w", err)
	}
	return nil
}

type npmLock struct {
	Packages map[string]struct {
		Version   string `json:"version"`
		Resolved  string `json:"resolved"`
		Integrity string `json:"integrity"`
		Optional  bool   `json:"optional"`
	} `json:"packages"`
}

// nodeModulesMatch compares package-lock.json with the record npm keeps of
// what it installed (node_modules/.package-lock.json).
func nodeModulesMatch(dir string) (bool, error) {
	read := func(path string) (npmLock, error) {
		var l npmLock
		b, err := os.ReadFile(path)
		if err != nil {
			return l, err
		}
		if err := json.Unmarshal(b, &l); err != nil {
			return l, fmt.Errorf("parse %s: %w", path, err)
		}
		return l, nil
	}
	want, err := read(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false, err
	}
	have, err := read(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return false, err
	}
	for key, w := range want.Packages {
		if key == "" {
			continue
		}
		h, ok := have.Packages[key]
		switch {
		case !ok && w.Optional:
		case !ok:
			return false, fmt.Errorf("%s is not installed", key)
		case h.Version != w.Version || h.Integrity != w.Integrity || h.Resolved != w.Resolved:
			return false, fmt.Errorf("%s differs from the lock", key)
		}
	}
	for key := range have.Packages {
		if _, ok := want.Packages[key]; !ok {
			return false, fmt.Errorf("%s is not in the lock", key)
		}
	}
	return true, nil
}

// MinIOBinaryPath returns the cached MinIO binary of MinIOVersion, or an
// error wrapping ErrNotInstalled when it has not been built yet.
func MinIOBinaryPath(opts ...InstallOption) (string, error) {
	cfg, err := newInstallConfig(opts)
	if err != nil {
		return "", err
	}
	path := minioPath(cfg.cacheDir)
	if isExecutable(path) {
		return path, nil
	}
	return "", fmt.Errorf("%w: minio %s is not built at %s: run `make deps` (or `go run ./tools/stack install`)", ErrNotInstalled, MinIOVersion, path)
}

func minioPath(cacheDir string) string {
	return filepath.Join(cacheDir, "minio-"+MinIOVersion, "minio")
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// MinIOBinary returns the cached MinIO binary, building it first with
// `go install` from the Go module proxy when it is missing (about two
// minutes, once per machine). Concurrent calls, also from other processes,
// build it once.
func MinIOBinary(ctx context.Context, opts ...InstallOption) (string, error) {
	cfg, err := newInstallConfig(opts)
	if err != nil {
		return "", err
	}
	path := minioPath(cfg.cacheDir)
	if isExecutable(path) {
		fmt.Fprintf(cfg.progress, "minio %s is cached at %s\n", MinIOVersion, path)
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("build minio: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Dir(path)+".lock", func() {
		fmt.Fprintf(cfg.progress, "waiting for another build of MinIO to finish…\n")
	})
	if err != nil {
		return "", fmt.Errorf("build minio: %w", err)
	}
	defer unlock()
	if isExecutable(path) { // built while we waited
		return path, nil
	}
	// A build of the same version that an earlier install script left in the
	// cache is reused when its build information proves the version.
	if old := filepath.Join(cfg.cacheDir, "minio-bin", "minio"); isPinnedMinIO(old) {
		if err := copyExecutable(old, path); err == nil {
			fmt.Fprintf(cfg.progress, "reused minio %s from %s\n", MinIOVersion, old)
			return path, nil
		}
	}

	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build minio: %w: the go command is not in PATH", ErrNotInstalled)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".build-*")
	if err != nil {
		return "", fmt.Errorf("build minio: %w", err)
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintf(cfg.progress, "building MinIO %s (about 2 minutes, once)…\n", MinIOVersion)
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "install", MinIOModule+"@"+MinIOVersion)
	cmd.Dir = tmp // outside any module
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0", "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=-buildvcs=false")
	cmd.Stdout, cmd.Stderr = cfg.progress, cfg.progress
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("build minio: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
wait:
	for {
		select {
		case <-tick.C:
			fmt.Fprintf(cfg.progress, "  still building MinIO (%s)\n", time.Since(start).Round(time.Second))
		case err = <-done:
			break wait
		}
	}
	if err != nil {
		return "", fmt.Errorf("build minio: go install %s@%s: %w", MinIOModule, MinIOVersion, err)
	}
	if err := os.Rename(filepath.Join(tmp, "minio"), path); err != nil {
		return "", fmt.Errorf("build minio: %w", err)
	}
	fmt.Fprintf(cfg.progress, "built MinIO in %s: %s\n", time.Since(start).Round(time.Second), path)
	return path, nil
}

// isPinnedMinIO reports whether path is a MinIO binary of MinIOVersion.
func isPinnedMinIO(path string) bool {
	info, err := buildinfo.ReadFile(path)
	return err == nil && info.Main.Path == MinIOModule && info.Main.Version == MinIOVersion
}

// copyExecutable places a copy (or a hard link) of src at dst atomically.
func copyExecutable(src, dst string) error {
	tmp := dst + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			_ = out.Close()
			_ = os.Remove(tmp)
			return err
		}
		if err := out.Close(); err != nil {
			_ = os.Remove(tmp)
			return err
		}
	}
	return os.Rename(tmp, dst)
}

// lockFile takes an exclusive lock on path, polling so that ctx can cancel
// the wait; waiting is called once when another process holds the lock.
func lockFile(ctx context.Context, path string, waiting func()) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !told {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
