package service

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrPortInUse means the port a service must listen on is taken.
	ErrPortInUse = errors.New("port already in use")
	// ErrNotReady means the service did not answer in time.
	ErrNotReady = errors.New("not ready in time")
	// ErrExited means the process ended before it became ready.
	ErrExited = errors.New("process exited before it was ready")
	// ErrNotInstalled means a program or package the service needs is missing;
	// `make deps` (or `go run ./tools/stack install`) installs it.
	ErrNotInstalled = errors.New("not installed")
	// ErrNotRunning means a recorded process is gone.
	ErrNotRunning = errors.New("process not running")
	// ErrNotSameProcess means a recorded PID now belongs to another process.
	ErrNotSameProcess = errors.New("pid belongs to another process")
	// ErrInvalidOptions means the options of a Start function are wrong.
	ErrInvalidOptions = errors.New("invalid options")
)

// StartError tells why a service did not start: which service, on which
// port, and where its log is (with the log's last lines).
type StartError struct {
	Service string
	Port    int
	LogFile string
	LogTail []string // last lines of LogFile, if any
	Err     error    // wraps one of the sentinels above, or the cause
}

func (e *StartError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "start %s", e.Service)
	if e.Port > 0 {
		fmt.Fprintf(&b, " on 127.0.0.1:%d", e.Port)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if e.LogFile != "" {
		fmt.Fprintf(&b, " (log %s)", e.LogFile)
	}
	if len(e.LogTail) > 0 {
		b.WriteString("\nlast lines of the log:")
		for _, l := range e.LogTail {
			b.WriteString("\n  ")
			b.WriteString(l)
		}
	}
	return b.String()
}

func (e *StartError) Unwrap() error { return e.Err }

// portInUseError names the port in its message.
func portInUseError(port int) error {
	return fmt.Errorf("%w: port %d on 127.0.0.1 is taken by another process", ErrPortInUse, port)
}
