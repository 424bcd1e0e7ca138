package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// defaultExecEnv names the official runtime image the zips are built for; the
// image's proxy refuses a zip whose exec.env differs from its own.
const defaultExecEnv = "openwhisk/action-golang-v1.24"

// zipTime is the modification time of every zip entry, for reproducible zips.
var zipTime = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

type config struct {
	outDir   string    // where <name>.zip files go
	execEnv  string    // content of exec.env
	goCmd    string    // the go command
	patterns []string  // go list patterns of action main packages
	stdout   io.Writer // progress lines
}

// action is one main package to pack.
type action struct {
	name       string // zip name: the package directory's base name
	importPath string
}

func run(ctx context.Context, cfg config) error {
	if cfg.execEnv == "" {
		return errors.New("flag -exec-env: expected a runtime image name, got an empty string")
	}
	actions, err := listActions(ctx, cfg.goCmd, cfg.patterns)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for _, a := range actions {
		start := time.Now()
		exe, err := build(ctx, cfg.goCmd, a.importPath)
		if err != nil {
			return err
		}
		dst := filepath.Join(cfg.outDir, a.name+".zip")
		size, err := writeZip(dst, exe, cfg.execEnv)
		if err != nil {
			return err
		}
		fmt.Fprintf(cfg.stdout, "packed %s: %s (exec %s, zip %s) in %s\n",
			a.name, dst, humanSize(int64(len(exe))), humanSize(size), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// listActions resolves the patterns to main packages.
func listActions(ctx context.Context, goCmd string, patterns []string) ([]action, error) {
	args := append([]string{"list", "-f", "{{.Name}}\t{{.ImportPath}}\t{{.Dir}}"}, patterns...)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("list packages %s: %w: %s", strings.Join(patterns, " "), err, strings.TrimSpace(stderr.String()))
	}
	var actions []action
	seen := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Split(line, "\t")
		if len(fields) != 3 || fields[0] != "main" {
			continue
		}
		a := action{name: filepath.Base(fields[2]), importPath: fields[1]}
		if other, dup := seen[a.name]; dup {
			return nil, fmt.Errorf("list packages: %s and %s would both be packed as %s.zip", other, a.importPath, a.name)
		}
		seen[a.name] = a.importPath
		actions = append(actions, a)
	}
	if len(actions) == 0 {
		return nil, fmt.Errorf("list packages %s: no main package", strings.Join(patterns, " "))
	}
	return actions, nil
}

// build compiles a static, stripped linux/amd64 binary and returns its bytes.
func build(ctx context.Context, goCmd, importPath string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "whiskfeed-pack-")
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", importPath, err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "exec")
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, importPath)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s: %w\n%s", importPath, err, msg)
	}
	exe, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", importPath, err)
	}
	return exe, nil
}

// writeZip writes dst atomically with exec (0755) and exec.env at top level
// and returns its size.
func writeZip(dst string, exe []byte, execEnv string) (int64, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	entries := []struct {
		name   string
		mode   os.FileMode
		method uint16
		data   []byte
	}{
		{"exec", 0o755, zip.Deflate, exe},
		{"exec.env", 0o644, zip.Store, []byte(execEnv)},
	}
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: e.method, Modified: zipTime}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return 0, fmt.Errorf("write %s: %w", dst, err)
		}
		if _, err := w.Write(e.data); err != nil {
			return 0, fmt.Errorf("write %s: %w", dst, err)
		}
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("write %s: %w", dst, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".pack-*.zip")
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", dst, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("write %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return 0, fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return 0, fmt.Errorf("write %s: %w", dst, err)
	}
	return int64(buf.Len()), nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}
