package service

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelperProcess is not a test: the tests below run the test binary with
// "-test.run=TestHelperProcess -- MODE ARGS" as a server process.
func TestHelperProcess(t *testing.T) {
	args := helperArgs()
	if args == nil {
		return
	}
	defer os.Exit(0)
	switch args[0] {
	case "exit": // prints and fails at once
		fmt.Println("helper: cannot open the data directory")
		os.Exit(3)
	case "silent": // never answers
		time.Sleep(time.Hour)
	case "serve", "serve-ignore-term", "serve-with-child":
		if args[0] == "serve-ignore-term" {
			signal.Ignore(syscall.SIGTERM)
		}
		if args[0] == "serve-with-child" {
			child := exec.Command("sleep", "3600")
			if err := child.Start(); err != nil {
				os.Exit(4)
			}
			fmt.Printf("child %d\n", child.Process.Pid)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+args[1])
		if err != nil {
			os.Exit(5)
		}
		fmt.Println("helper: listening")
		_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/ready" {
				http.NotFound(w, r)
			}
		}))
	}
}

func helperArgs() []string {
	for i, a := range os.Args {
		if a == "--" {
			return os.Args[i+1:]
		}
	}
	return nil
}

func helperOptions(t *testing.T, mode string) ProcessOptions {
	t.Helper()
	port, err := FreePort()
	require.NoError(t, err)
	return ProcessOptions{
		Name:     "helper",
		Path:     os.Args[0],
		Args:     []string{"-test.run=^TestHelperProcess$", "--", mode, strconv.Itoa(port)},
		Port:     port,
		URL:      fmt.Sprintf("http://127.0.0.1:%d", port),
		ReadyURL: fmt.Sprintf("http://127.0.0.1:%d/ready", port),
		LogFile:  t.TempDir() + "/helper.log",
	}
}

// requireGone checks that no process of the group led by pid is left.
func requireGone(t *testing.T, pid int) {
	t.Helper()
	_, err := processIdentity(pid)
	assert.ErrorIs(t, err, ErrNotRunning, "process %d still runs", pid)
	assert.False(t, groupAlive(pid), "process group %d still has members", pid)
}

func TestStartProcessReadyAndStop(t *testing.T) {
	tests := []struct {
		name  string
		mode  string
		grace time.Duration
	}{
		{name: "stops on SIGTERM", mode: "serve"},
		{name: "killed when SIGTERM is ignored", mode: "serve-ignore-term", grace: 300 * time.Millisecond},
		{name: "children of the group are stopped too", mode: "serve-with-child"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := helperOptions(t, tc.mode)
			opts.StopGrace = tc.grace
			p, err := StartProcess(t.Context(), opts)
			require.NoError(t, err)
			assert.Equal(t, "helper", p.Name)
			assert.Equal(t, opts.URL, p.URL)
			assert.Equal(t, opts.LogFile, p.LogFile)
			assert.True(t, p.Running())

			resp, err := http.Get(opts.ReadyURL)
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)

			require.NoError(t, p.Stop(t.Context()))
			assert.False(t, p.Running())
			requireGone(t, p.PID)
			require.NoError(t, p.Stop(t.Context()), "a second Stop returns the first result")
			assert.FileExists(t, opts.LogFile, "a log file given by the caller is kept")
		})
	}
}

func TestStartProcessTemporaryLogRemovedByStop(t *testing.T) {
	opts := helperOptions(t, "serve")
	opts.LogFile = ""
	p, err := StartProcess(t.Context(), opts)
	require.NoError(t, err)
	require.FileExists(t, p.LogFile)
	require.NoError(t, p.Stop(t.Context()))
	assert.NoFileExists(t, p.LogFile)
}

func TestStartProcessFailures(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		timeout  time.Duration
		want     error
		wantTail string
	}{
		{name: "exits before ready", mode: "exit", want: ErrExited, wantTail: "helper: cannot open the data directory"},
		{name: "never answers", mode: "silent", timeout: 500 * time.Millisecond, want: ErrNotReady},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := helperOptions(t, tc.mode)
			opts.ReadyTimeout = tc.timeout
			_, err := StartProcess(t.Context(), opts)
			require.ErrorIs(t, err, tc.want)
			var se *StartError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "helper", se.Service)
			assert.Equal(t, opts.Port, se.Port)
			assert.Equal(t, opts.LogFile, se.LogFile)
			if tc.wantTail != "" {
				assert.Contains(t, se.LogTail, tc.wantTail)
				assert.Contains(t, err.Error(), tc.wantTail)
			}
			assert.Contains(t, err.Error(), opts.LogFile)
		})
	}
}

func TestStartProcessPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name    string
		service string
		start   func(t *testing.T) error
	}{
		{name: "process", service: "helper", start: func(t *testing.T) error {
			opts := helperOptions(t, "serve")
			opts.Port = port
			_, err := StartProcess(t.Context(), opts)
			return err
		}},
		{name: "couchdb", service: "couchdb", start: func(t *testing.T) error {
			requireInstalled(t, "couchdb")
			_, err := StartCouchDB(t.Context(), CouchDBOptions{Port: port})
			return err
		}},
		{name: "minio", service: "minio", start: func(t *testing.T) error {
			requireInstalled(t, "minio")
			_, err := StartMinIO(t.Context(), MinIOOptions{Port: port, AccessKey: testAccessKey, SecretKey: testSecretKey})
			return err
		}},
		{name: "minio console", service: "minio", start: func(t *testing.T) error {
			requireInstalled(t, "minio")
			other, err := FreePort()
			require.NoError(t, err)
			_, err = StartMinIO(t.Context(), MinIOOptions{Port: other, ConsolePort: port, AccessKey: testAccessKey, SecretKey: testSecretKey})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.start(t)
			require.ErrorIs(t, err, ErrPortInUse)
			var se *StartError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.service, se.Service)
			assert.Equal(t, port, se.Port)
			assert.Contains(t, err.Error(), fmt.Sprintf("port %d", port), "the message names the port")
			assert.Contains(t, err.Error(), "start "+tc.service, "the message names the service")
		})
	}
}

func TestAttach(t *testing.T) {
	p, err := StartProcess(t.Context(), helperOptions(t, "serve"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(t.Context()) })
	rec := p.Record()
	assert.Equal(t, p.PID, rec.PID)
	assert.NotEmpty(t, rec.Identity)

	t.Run("pid reused by another process", func(t *testing.T) {
		other := rec
		other.Identity = "start:1"
		_, err := Attach(other)
		require.ErrorIs(t, err, ErrNotSameProcess)
	})

	t.Run("attached process stops", func(t *testing.T) {
		a, err := Attach(rec)
		require.NoError(t, err)
		assert.True(t, a.Running())
		require.NoError(t, a.Stop(t.Context()))
		assert.False(t, a.Running())
		requireGone(t, rec.PID)
	})

	t.Run("process gone", func(t *testing.T) {
		_, err := Attach(rec)
		require.ErrorIs(t, err, ErrNotRunning)
	})
}

func TestStartProcessInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts ProcessOptions
	}{
		{name: "no name", opts: ProcessOptions{Path: "sleep"}},
		{name: "no path", opts: ProcessOptions{Name: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StartProcess(t.Context(), tc.opts)
			require.ErrorIs(t, err, ErrInvalidOptions)
		})
	}
}

// requireInstalled skips in -short mode and fails, telling how to install,
// when the named service cannot run here.
func requireInstalled(t *testing.T, service string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real servers; skipped in -short mode")
	}
	var err error
	switch service {
	case "minio":
		_, err = MinIOBinaryPath()
	case "couchdb":
		var dir string
		if dir, err = NodeDir(); err == nil {
			_, err = os.Stat(dir + "/node_modules/pouchdb-server/bin/pouchdb-server")
		}
		if err == nil {
			_, err = exec.LookPath("node")
		}
	}
	if err != nil {
		if !errors.Is(err, ErrNotInstalled) {
			err = fmt.Errorf("%w: %v", ErrNotInstalled, err)
		}
		t.Fatalf("%s cannot run: %v (run `make deps`)", service, err)
	}
}
