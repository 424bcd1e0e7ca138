package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// MaxDocumentSize is the document size limit given to pouchdb-server, the
// default of CouchDB 3.
const MaxDocumentSize = 8000000

// CouchDBOptions configure StartCouchDB.
type CouchDBOptions struct {
	Port         int           // 0 = a free port
	Dir          string        // database files; "" = in memory
	LogFile      string        // "" = a temporary file that Stop removes
	NodeDir      string        // folder with node_modules/pouchdb-server; "" = tools/stack/npm of the repository
	ReadyTimeout time.Duration // 0 = 30 s
	Detach       bool          // see ProcessOptions.Detach
}

// StartCouchDB starts pouchdb-server, a CouchDB-compatible server, on
// 127.0.0.1 without admins (every request is admin), and waits until it
// answers. ctx bounds only the start. A missing Node.js or pouchdb-server
// gives an error wrapping ErrNotInstalled.
func StartCouchDB(ctx context.Context, opts CouchDBOptions) (*Proc, error) {
	const name = "couchdb"
	nodeDir := opts.NodeDir
	if nodeDir == "" {
		var err error
		if nodeDir, err = NodeDir(); err != nil {
			return nil, &StartError{Service: name, Port: opts.Port, Err: err}
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, &StartError{Service: name, Port: opts.Port,
			Err: fmt.Errorf("%w: node (Node.js) is not in PATH: install Node.js (make deps)", ErrNotInstalled)}
	}
	script := filepath.Join(nodeDir, "node_modules", "pouchdb-server", "bin", "pouchdb-server")
	if _, err := os.Stat(script); err != nil {
		return nil, &StartError{Service: name, Port: opts.Port,
			Err: fmt.Errorf("%w: pouchdb-server is missing from %s: run `make deps` (or `go run ./tools/stack install`)", ErrNotInstalled, filepath.Join(nodeDir, "node_modules"))}
	}
	timeout := opts.ReadyTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}

	return withFreePort(opts.Port, func(port int) (*Proc, error) {
		workDir, cleanup, err := serviceDir(opts.Dir, name)
		if err != nil {
			return nil, &StartError{Service: name, Port: port, Err: err}
		}
		popts := ProcessOptions{
			Name:         name,
			Path:         node,
			Dir:          workDir,
			Port:         port,
			URL:          fmt.Sprintf("http://127.0.0.1:%d", port),
			ReadyURL:     fmt.Sprintf("http://127.0.0.1:%d/", port),
			LogFile:      opts.LogFile,
			ReadyTimeout: timeout,
			Detach:       opts.Detach,
			cleanup:      cleanup,
		}
		logFile, err := ensureLogFile(&popts)
		if err != nil {
			runAll(cleanup)
			return nil, &StartError{Service: name, Port: port, Err: err}
		}
		configFile := filepath.Join(workDir, "config.json")
		if err := writeCouchConfig(configFile, logFile); err != nil {
			runAll(popts.cleanup)
			return nil, &StartError{Service: name, Port: port, LogFile: logFile, Err: err}
		}
		popts.Args = []string{script, "--port", strconv.Itoa(port), "--host", "127.0.0.1", "--config", configFile, "-n"} // -n: pouchdb-server ignores --no-stdout-logs and would copy its log file into itself
		if opts.Dir == "" {
			popts.Args = append(popts.Args, "--in-memory")
		} else {
			popts.Args = append(popts.Args, "--dir", workDir)
		}
		return StartProcess(ctx, popts)
	})
}

// writeCouchConfig writes pouchdb-server's config file, keeping what the
// server stored there before (its uuid).
func writeCouchConfig(path, logFile string) error {
	cfg := map[string]map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &cfg) // a broken file is replaced
	}
	set := func(section, key string, v any) {
		if cfg[section] == nil {
			cfg[section] = map[string]any{}
		}
		cfg[section][key] = v
	}
	set("couchdb", "max_document_size", strconv.Itoa(MaxDocumentSize))
	set("log", "file", logFile)
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("write pouchdb-server config: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write pouchdb-server config: %w", err)
	}
	return nil
}

// ensureLogFile gives popts a log file, creating a temporary one (removed by
// Stop, kept when the start fails) when none was asked for, so that the server can be told its path.
func ensureLogFile(popts *ProcessOptions) (string, error) {
	if popts.LogFile != "" {
		abs, err := filepath.Abs(popts.LogFile)
		if err != nil {
			return "", fmt.Errorf("log file: %w", err)
		}
		popts.LogFile = abs
		return abs, nil
	}
	f, err := os.CreateTemp("", "whiskfeed-"+popts.Name+"-*.log")
	if err != nil {
		return "", fmt.Errorf("create log file: %w", err)
	}
	_ = f.Close()
	popts.LogFile = f.Name()
	popts.tempLog = true
	return f.Name(), nil
}

// serviceDir returns dir (created) or, when dir is empty, a new temporary
// directory together with the cleanup that removes it.
func serviceDir(dir, name string) (string, []func(), error) {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err == nil {
			err = os.MkdirAll(abs, 0o755)
		}
		if err != nil {
			return "", nil, fmt.Errorf("data directory %s: %w", dir, err)
		}
		return abs, nil, nil
	}
	tmp, err := os.MkdirTemp("", "whiskfeed-"+name+"-*")
	if err != nil {
		return "", nil, fmt.Errorf("create temporary directory: %w", err)
	}
	return tmp, []func(){func() { _ = os.RemoveAll(tmp) }}, nil
}

// withFreePort runs start with port, or with a free port when port is 0.
// When the port was chosen here and another process took it before the
// server could, start is tried again with a new one.
func withFreePort(port int, start func(port int) (*Proc, error)) (*Proc, error) {
	for attempt := 0; ; attempt++ {
		p := port
		if port == 0 {
			var err error
			if p, err = FreePort(); err != nil {
				return nil, err
			}
		}
		proc, err := start(p)
		if err == nil || port != 0 || attempt == 2 ||
			!(errors.Is(err, ErrPortInUse) || errors.Is(err, ErrExited)) {
			return proc, err
		}
	}
}
