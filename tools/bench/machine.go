package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/whiskfeed/whiskfeed/tools/stack/service"
)

// machine describes where the benchmarks ran.
type machine struct {
	Date      time.Time
	GoVersion string // the output of `go version`
	CPU       string // model name
	Cores     int
	Memory    string
	Kernel    string
	Node      string // the output of `node --version`: pouchdb-server runs on it
	PouchDB   string // the installed pouchdb-server's version
}

func describeMachine(ctx context.Context) machine {
	m := machine{Date: time.Now().UTC(), Cores: goruntime.NumCPU(), CPU: "unknown", Memory: "unknown", Kernel: goruntime.GOOS}
	if out, err := exec.CommandContext(ctx, "go", "version").Output(); err == nil {
		m.GoVersion = strings.TrimSpace(string(out))
	} else {
		m.GoVersion = goruntime.Version() + " (the go command did not answer)"
	}
	if out, err := exec.CommandContext(ctx, "node", "--version").Output(); err == nil {
		m.Node = strings.TrimSpace(string(out))
	}
	m.PouchDB = pouchDBVersion()
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		if kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64); err == nil {
			m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = goruntime.GOOS + " " + strings.TrimSpace(string(b))
	}
	return m
}

// procField returns the value of the first "name : value" line of a /proc
// file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// pouchDBVersion reads the version of the pouchdb-server installed in
// tools/stack/npm.
func pouchDBVersion() string {
	dir, err := service.NodeDir()
	if err != nil {
		return "(unknown version)"
	}
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "pouchdb-server", "package.json"))
	if err != nil {
		return "(not installed)"
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &pkg) != nil || pkg.Version == "" {
		return "(unknown version)"
	}
	return pkg.Version
}
