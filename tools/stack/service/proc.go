package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of ProcessOptions.
const (
	DefaultReadyTimeout = 60 * time.Second
	DefaultStopGrace    = 10 * time.Second
)

// ProcessOptions describe a server process for StartProcess.
type ProcessOptions struct {
	Name       string   // service name used in messages, e.g. "localwhisk"
	Path       string   // the executable
	Args       []string // its arguments
	Env        []string // "KEY=value" entries added to this program's environment
	Dir        string   // working directory; "" = the current one
	Port       int      // port the process will listen on at 127.0.0.1, checked free before the start; 0 = none
	ExtraPorts []int    // further ports checked free before the start
	URL        string   // base URL reported as Proc.URL
	// ReadyURL is polled with GET until it answers 2xx. When empty, readiness
	// is a TCP connection to Port; with neither, the process counts as ready
	// once started.
	ReadyURL     string
	LogFile      string        // stdout and stderr are appended here; "" = a temporary file that Stop removes
	ReadyTimeout time.Duration // 0 = DefaultReadyTimeout
	StopGrace    time.Duration // time between SIGTERM and SIGKILL in Stop; 0 = DefaultStopGrace
	// Detach lets the process outlive this program (the stack command uses it);
	// otherwise, on Linux, the kernel kills it when this program dies.
	Detach bool

	dropEnv func(key string) bool // inherited variables to leave out
	tempLog bool                  // LogFile is temporary: Stop removes it
	cleanup []func()              // run by Stop, and when the start fails
}

// Proc is a running server process (the leader of its own process group).
// Its methods are safe for concurrent use.
type Proc struct {
	Name    string
	URL     string
	PID     int
	LogFile string

	identity string
	grace    time.Duration
	done     chan struct{} // closed when a child process was reaped; nil for an attached process
	waitErr  error
	cleanup  []func()

	stopOnce sync.Once
	stopErr  error
}

// Record is what a Proc leaves in a pid file so that another run of a program
// can find it again with Attach.
type Record struct {
	Name     string `json:"name"`
	PID      int    `json:"pid"`
	URL      string `json:"url"`
	LogFile  string `json:"log_file"`
	Identity string `json:"identity"` // the process start time, telling a reused PID apart
}

// StartProcess starts a server process and waits until it is ready. ctx
// bounds only the start: the process runs until Stop. On failure the process
// is stopped and the error is a *StartError naming the service, its port and
// its log file.
func StartProcess(ctx context.Context, opts ProcessOptions) (*Proc, error) {
	p, err := startProcess(ctx, opts)
	if err != nil {
		runAll(opts.cleanup)
		// A temporary log that got nothing (the process never started) is
		// removed; one with output is kept for the reader of the error.
		var se *StartError
		errors.As(err, &se)
		logFile := opts.LogFile
		if logFile == "" && se != nil {
			logFile = se.LogFile // created by startProcess
		}
		if logFile != "" && (opts.LogFile == "" || opts.tempLog) {
			if st, serr := os.Stat(logFile); serr == nil && st.Size() == 0 {
				_ = os.Remove(logFile)
				if se != nil {
					se.LogFile = ""
				}
			}
		}
		return nil, err
	}
	return p, nil
}

func startProcess(ctx context.Context, opts ProcessOptions) (*Proc, error) {
	if opts.Name == "" {
		return nil, fmt.Errorf("start process: %w: Name is empty", ErrInvalidOptions)
	}
	if opts.Path == "" {
		return nil, fmt.Errorf("start %s: %w: Path is empty", opts.Name, ErrInvalidOptions)
	}
	startErr := func(logFile string, err error) error {
		return &StartError{Service: opts.Name, Port: opts.Port, LogFile: logFile, LogTail: lastLines(logFile, 15), Err: err}
	}
	for _, port := range append([]int{opts.Port}, opts.ExtraPorts...) {
		if port > 0 && !PortFree(port) {
			return nil, &StartError{Service: opts.Name, Port: port, Err: portInUseError(port)}
		}
	}

	logFile, tempLog := opts.LogFile, opts.LogFile == "" || opts.tempLog
	var f *os.File
	var err error
	if logFile == "" {
		f, err = os.CreateTemp("", "whiskfeed-"+opts.Name+"-*.log")
	} else {
		if err = os.MkdirAll(filepath.Dir(logFile), 0o755); err == nil {
			f, err = os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		}
	}
	if err != nil {
		return nil, startErr("", fmt.Errorf("open log file: %w", err))
	}
	logFile = f.Name()

	cmd := exec.Command(opts.Path, opts.Args...)
	cmd.Dir = opts.Dir
	env := cmd.Environ()
	if opts.dropEnv != nil {
		kept := env[:0]
		for _, kv := range env {
			if k, _, _ := strings.Cut(kv, "="); !opts.dropEnv(k) {
				kept = append(kept, kv)
			}
		}
		env = kept
	}
	cmd.Env = append(env, opts.Env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr(opts.Detach)
	if opts.Detach {
		err = cmd.Start()
	} else {
		err = startOnLockedThread(cmd)
	}
	_ = f.Close() // the child holds its own descriptor
	if err != nil {
		return nil, startErr(logFile, fmt.Errorf("run %s: %w", opts.Path, err))
	}

	p := &Proc{
		Name:    opts.Name,
		URL:     opts.URL,
		PID:     cmd.Process.Pid,
		LogFile: logFile,
		grace:   opts.StopGrace,
		done:    make(chan struct{}),
	}
	p.identity, _ = processIdentity(p.PID)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()

	if err := p.waitReady(ctx, opts); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		_ = p.terminate(stopCtx) // the log is kept for the error
		return nil, startErr(logFile, err)
	}
	if tempLog {
		p.cleanup = append(p.cleanup, func() { _ = os.Remove(logFile) })
	}
	p.cleanup = append(p.cleanup, opts.cleanup...)
	return p, nil
}

func (p *Proc) waitReady(ctx context.Context, opts ProcessOptions) error {
	timeout := opts.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	readyCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	probe := func() bool {
		switch {
		case opts.ReadyURL != "":
			req, err := http.NewRequestWithContext(readyCtx, http.MethodGet, opts.ReadyURL, nil)
			if err != nil {
				return false
			}
			resp, err := client.Do(req)
			if err != nil {
				return false
			}
			_ = resp.Body.Close()
			return resp.StatusCode >= 200 && resp.StatusCode < 300
		case opts.Port > 0:
			var d net.Dialer
			conn, err := d.DialContext(readyCtx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port)))
			if err != nil {
				return false
			}
			_ = conn.Close()
			return true
		default:
			return true
		}
	}
	target := opts.ReadyURL
	if target == "" && opts.Port > 0 {
		target = fmt.Sprintf("127.0.0.1:%d", opts.Port)
	}

	delay := 20 * time.Millisecond
	for {
		if !p.running() {
			return p.exitedError()
		}
		if probe() {
			return nil
		}
		select {
		case <-p.done:
			return p.exitedError()
		case <-readyCtx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("wait for %s: %w", target, ctx.Err())
			}
			return fmt.Errorf("%w: no answer from %s within %s", ErrNotReady, target, timeout)
		case <-time.After(delay):
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}

func (p *Proc) exitedError() error {
	if p.waitErr != nil {
		return fmt.Errorf("%w: %v", ErrExited, p.waitErr)
	}
	return fmt.Errorf("%w: exit status 0", ErrExited)
}

// Record returns what a pid file should keep about p.
func (p *Proc) Record() Record {
	return Record{Name: p.Name, PID: p.PID, URL: p.URL, LogFile: p.LogFile, Identity: p.identity}
}

// Attach finds the process of a Record again. It fails with ErrNotRunning
// when the process is gone and with ErrNotSameProcess when its PID now
// belongs to another process.
func Attach(rec Record) (*Proc, error) {
	if rec.PID <= 0 {
		return nil, fmt.Errorf("attach %s: %w: pid %d", rec.Name, ErrInvalidOptions, rec.PID)
	}
	id, err := processIdentity(rec.PID)
	if err != nil {
		return nil, fmt.Errorf("attach %s (pid %d): %w", rec.Name, rec.PID, err)
	}
	if rec.Identity == "" || id != rec.Identity {
		return nil, fmt.Errorf("attach %s (pid %d): %w", rec.Name, rec.PID, ErrNotSameProcess)
	}
	return &Proc{Name: rec.Name, URL: rec.URL, PID: rec.PID, LogFile: rec.LogFile, identity: id}, nil
}

// Running reports whether the process is still alive.
func (p *Proc) Running() bool { return p.running() }

func (p *Proc) running() bool {
	if p.done != nil {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	id, err := processIdentity(p.PID)
	return err == nil && id == p.identity
}

// Stop ends the process and everything else in its process group: SIGTERM,
// then SIGKILL after the grace period (or when ctx ends), and waits until no
// process of the group remains. Temporary files of the start are removed.
// Calling Stop again returns the first result.
func (p *Proc) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() {
		p.stopErr = p.terminate(ctx)
		runAll(p.cleanup)
	})
	return p.stopErr
}

func (p *Proc) terminate(ctx context.Context) error {
	grace := p.grace
	if grace <= 0 {
		grace = DefaultStopGrace
	}
	if p.running() {
		if err := signalGroup(p.PID, syscall.SIGTERM); err != nil {
			return fmt.Errorf("stop %s (pid %d): %w", p.Name, p.PID, err)
		}
		deadline := time.Now().Add(grace)
		for p.running() && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := signalGroup(p.PID, syscall.SIGKILL); err != nil {
		return fmt.Errorf("stop %s (pid %d): %w", p.Name, p.PID, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.running() || groupAlive(p.PID) {
		if time.Now().After(deadline) {
			return fmt.Errorf("stop %s (pid %d): processes of its group remain after SIGKILL", p.Name, p.PID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// signalGroup signals the process group led by pid; a group that is already
// gone is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if err == nil || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return fmt.Errorf("signal %v: %w", sig, err)
}

// PortFree reports whether 127.0.0.1:port can be listened on now.
func PortFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// FreePort returns a port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lastLines returns up to n last lines of a file, each cut to a sane length.
func lastLines(path string, n int) []string {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const window = 16 << 10
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	off := max(st.Size()-window, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(buf, []byte("?"))), "\n"), "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // the first one is cut
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 400 {
			lines[i] = l[:400] + "…"
		}
	}
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines
}

func runAll(fns []func()) {
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}
