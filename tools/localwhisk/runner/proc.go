package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proxyVersion is announced to actions as __OW_PROXY_VERSION, the version of
// the runtime-go proxy whose behaviour the runner follows.
const proxyVersion = "1.17.1"

// defaultPath is the only PATH an action sees unless an init parameter sets one.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// textBusyAttempts bounds the starts of an action process that fail because
// its executable is busy (ETXTBSY), about 1 s in all.
const textBusyAttempts = 20

// logWait bounds how long the runner waits for its own sentinels to come back
// through the output pipes.
const logWait = 5 * time.Second

// exitGrace bounds how long the runner waits for a result line that may still
// be in the pipe when the process has exited.
const exitGrace = time.Second

// resultLine is one line the action wrote on fd 3.
type resultLine struct {
	data []byte // the line without its newline, cut after MaxResultSize+1 bytes
	size int    // the full length of the line without its newline
}

type procState int

const (
	stateBusy procState = iota
	stateIdle
)

// proc is one action process. Its state and lastUsed fields are guarded by
// the pool's mutex; everything else is owned by whoever holds it busy.
type proc struct {
	key      string
	ns       string
	state    procState
	lastUsed time.Time

	cmd              *exec.Cmd
	logs             *collector
	stdin            *os.File
	outW, errW       *os.File // the runner's own write ends of the child's stdout and stderr
	outR, errR, resR *os.File
	results          chan resultLine
	exited           chan struct{}
	dead             chan struct{}
	broken           bool // logs out of step or protocol broken: do not reuse

	mu      sync.Mutex
	pid     int
	gone    bool // the process was reaped: its pid must not be signalled
	exitErr error

	destroyOnce sync.Once
}

func newProc(key, ns string) *proc {
	return &proc{
		key:     key,
		ns:      ns,
		state:   stateBusy,
		results: make(chan resultLine),
		exited:  make(chan struct{}),
		dead:    make(chan struct{}),
	}
}

// processEnv builds the complete environment of a new process: the init
// parameters, then what the invoker and the proxy export (the __OW_ values
// of the activation that starts it, the API host, the proxy's own markers).
func processEnv(spec Spec, act Activation, execEnv string, deadline time.Time) ([]string, error) {
	env := map[string]string{"PATH": defaultPath}
	for k, v := range spec.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(v, "\x00") {
			return nil, codeErrorf("Cannot start action: init parameter %q cannot be exported as an environment variable", k)
		}
		env[k] = v
	}
	ow := map[string]string{
		"__OW_API_HOST":       act.APIHost,
		"__OW_NAMESPACE":      act.Namespace,
		"__OW_ACTION_NAME":    act.ActionName,
		"__OW_ACTION_VERSION": act.ActionVersion,
		"__OW_ACTIVATION_ID":  act.ActivationID,
		"__OW_TRANSACTION_ID": act.TransactionID,
		"__OW_DEADLINE":       strconv.FormatInt(deadline.UnixMilli(), 10),
		"__OW_API_KEY":        act.APIKey,
		"__OW_PROXY_VERSION":  proxyVersion,
		"__OW_EXECUTION_ENV":  execEnv,
		"__OW_WAIT_FOR_ACK":   "1",
	}
	for k, v := range ow {
		if v != "" {
			env[k] = v
		}
	}
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out, nil
}

// start launches the process: stdin from a pipe, stdout and stderr into pipes
// whose write ends the runner keeps too (to inject sentinels), fd 3 the result
// pipe. wg tracks the four goroutines that serve the process.
func (pr *proc) start(wg *sync.WaitGroup, u unpacked, env []string, logMax int) (err error) {
	var files []*os.File
	pipe := func() (r, w *os.File) {
		if err != nil {
			return nil, nil
		}
		r, w, err = os.Pipe()
		files = append(files, r, w)
		return r, w
	}
	stdinR, stdinW := pipe()
	outR, outW := pipe()
	errR, errW := pipe()
	resR, resW := pipe()
	defer func() {
		if err != nil {
			for _, f := range files {
				if f != nil {
					f.Close()
				}
			}
		}
	}()
	if err != nil {
		return fmt.Errorf("create pipes: %w", err)
	}

	var cmd *exec.Cmd
	for attempt := 1; ; attempt++ {
		cmd = exec.Command(filepath.Join(u.dir, "exec"))
		cmd.Dir = u.dir
		cmd.Env = env
		cmd.Stdin = stdinR
		cmd.Stdout = outW
		cmd.Stderr = errW
		cmd.ExtraFiles = []*os.File{resW}
		isolate(cmd)
		err = cmd.Start()
		// A child forked by another goroutine while exec was still open for
		// writing (just unpacked) holds that descriptor until it execs
		// itself; meanwhile exec fails with ETXTBSY. It passes: try again.
		if err == nil || !errors.Is(err, syscall.ETXTBSY) || attempt == textBusyAttempts {
			break
		}
		time.Sleep(time.Duration(attempt) * 5 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("start exec: %w", err)
	}
	stdinR.Close()
	resW.Close()

	pr.cmd, pr.stdin = cmd, stdinW
	pr.outR, pr.outW, pr.errR, pr.errW, pr.resR = outR, outW, errR, errW, resR
	pr.logs = newCollector(logMax)
	pr.mu.Lock()
	pr.pid = cmd.Process.Pid
	pr.mu.Unlock()

	wg.Add(4)
	go func() {
		defer wg.Done()
		pr.wait()
	}()
	go func() {
		defer wg.Done()
		pr.logs.read(streamStdout, outR)
	}()
	go func() {
		defer wg.Done()
		pr.logs.read(streamStderr, errR)
	}()
	go func() {
		defer wg.Done()
		pr.readResults()
	}()
	return nil
}

// wait reaps the process. On Linux it first waits without reaping and kills
// the process group, so that helpers the action started die with it, as they
// would with their container.
func (pr *proc) wait() {
	pid := pr.cmd.Process.Pid
	if waitExited(pid) {
		pr.mu.Lock()
		killGroup(pr.cmd, pid)
		pr.mu.Unlock()
	}
	err := pr.cmd.Wait()
	pr.mu.Lock()
	pr.gone = true
	pr.exitErr = err
	pr.mu.Unlock()
	close(pr.exited)
}

// readResults delivers the lines of fd 3 until the pipe ends or the process
// is destroyed.
func (pr *proc) readResults() {
	defer close(pr.results)
	br := bufio.NewReaderSize(pr.resR, 64<<10)
	for {
		var data []byte
		size := 0
		for {
			frag, err := br.ReadSlice('\n')
			size += len(frag)
			if room := MaxResultSize + 1 - len(data); room > 0 {
				data = append(data, frag[:min(room, len(frag))]...)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if err != nil {
				return // the pipe ended, possibly in the middle of a line: no answer
			}
			break
		}
		data = bytes.TrimSuffix(data, []byte("\n"))
		select {
		case pr.results <- resultLine{data: data, size: size - 1}:
		case <-pr.dead:
			return
		}
	}
}

// kill ends the process group unless the process was already reaped.
func (pr *proc) kill() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.pid > 0 && !pr.gone {
		killGroup(pr.cmd, pr.pid)
	}
}

func (pr *proc) hasExited() bool {
	select {
	case <-pr.exited:
		return true
	default:
		return false
	}
}

// destroy kills the process, waits until it is reaped and releases its pipes,
// which ends the goroutines serving it. It is idempotent.
func (pr *proc) destroy() {
	pr.destroyOnce.Do(func() {
		pr.kill()
		if pr.cmd != nil {
			<-pr.exited
		}
		close(pr.dead)
		for _, f := range []*os.File{pr.stdin, pr.outW, pr.errW, pr.outR, pr.errR, pr.resR} {
			if f != nil {
				f.Close()
			}
		}
	})
}

func (pr *proc) exitStatus() string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.exitErr == nil {
		return "exit status 0"
	}
	return pr.exitErr.Error()
}

// endLogs closes the current log segment: it optionally writes a line of its
// own on stderr, then the sentinel on both streams, and collects everything up
// to the sentinels.
func (pr *proc) endLogs(limit int, note string, devError bool) []string {
	if note != "" {
		_, _ = io.WriteString(pr.errW, note+"\n")
	}
	_, _ = io.WriteString(pr.outW, Sentinel+"\n")
	_, _ = io.WriteString(pr.errW, Sentinel+"\n")
	lines, truncated, ok := pr.logs.take(logWait)
	out := render(lines, truncated, limit)
	if !ok {
		pr.broken = true
		out = append(out, formatLog(time.Now(), "stderr", msgLogFailure))
	}
	if devError {
		out = append(out, formatLog(time.Now(), "stderr", msgDevErrorLogs))
	}
	return out
}

// awaitAck waits for the {"ok":true} line the action writes on fd 3 when it
// is ready. It returns nil on success, or the failed Result.
func (pr *proc) awaitAck(ctx context.Context, spec Spec, closed <-chan struct{}) *Result {
	timer := time.NewTimer(spec.Timeout)
	defer timer.Stop()
	fail := func(status Status, msg, note string, timedOut bool) *Result {
		select {
		case <-closed: // the process died because the pool is closing
			status, msg, note = InternalError, msgRunnerClosed, ""
		default:
		}
		logs := pr.endLogs(spec.LogMax, note, status == DeveloperError)
		return &Result{Status: status, Response: errorResponse(msg), Logs: logs, TimedOut: timedOut}
	}
	select {
	case line, ok := <-pr.results:
		if !ok { // fd 3 closed: the process is exiting (or gave up the protocol)
			pr.kill()
			return fail(DeveloperError, msgCannotStart, msgInitExited, false)
		}
		if isAck(line.data) {
			return nil
		}
		return fail(DeveloperError, msgCannotStart,
			fmt.Sprintf("The action wrote %q on fd 3 instead of the {\"ok\":true} acknowledgement.", clip(line.data, 200)), false)
	case <-pr.exited:
		return fail(DeveloperError, msgCannotStart, msgInitExited, false)
	case <-timer.C:
		pr.kill()
		return fail(DeveloperError, msgTimeout(spec.Timeout, true), "", true)
	case <-ctx.Done():
		pr.kill()
		return fail(InternalError, msgActivationStop+": "+ctx.Err().Error()+".", "", false)
	case <-closed:
		pr.kill()
		return fail(InternalError, msgRunnerClosed, "", false)
	}
}

func isAck(b []byte) bool {
	var ack struct {
		OK bool `json:"ok"`
	}
	return json.Unmarshal(b, &ack) == nil && ack.OK
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// runMessage is the line written to the action's stdin for one activation.
type runMessage struct {
	Value         json.RawMessage `json:"value"`
	Namespace     string          `json:"namespace"`
	ActionName    string          `json:"action_name"`
	ActionVersion string          `json:"action_version"`
	ActivationID  string          `json:"activation_id"`
	TransactionID string          `json:"transaction_id"`
	APIHost       string          `json:"api_host,omitempty"`
	APIKey        string          `json:"api_key,omitempty"`
	Deadline      string          `json:"deadline"`
}

func encodeRun(act Activation, deadline time.Time) ([]byte, error) {
	value := act.Value
	if len(bytes.TrimSpace(value)) == 0 {
		value = json.RawMessage(`{}`)
	}
	if !json.Valid(value) {
		return nil, errors.New("encode activation: Activation.Value is not valid JSON")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(runMessage{
		Value:         value,
		Namespace:     act.Namespace,
		ActionName:    act.ActionName,
		ActionVersion: act.ActionVersion,
		ActivationID:  act.ActivationID,
		TransactionID: act.TransactionID,
		APIHost:       act.APIHost,
		APIKey:        act.APIKey,
		Deadline:      strconv.FormatInt(deadline.UnixMilli(), 10),
	})
	if err != nil {
		return nil, fmt.Errorf("encode activation: %w", err)
	}
	return buf.Bytes(), nil // one line: the encoder compacts and ends with a newline
}

// run performs one activation on a ready process. keep reports whether the
// process may serve another activation.
func (pr *proc) run(ctx context.Context, spec Spec, act Activation, closed <-chan struct{}) (res Result, keep bool) {
	res.Start = time.Now()
	limitAt := res.Start.Add(spec.Timeout)
	if !act.Deadline.IsZero() && act.Deadline.Before(limitAt) {
		limitAt = act.Deadline
	}
	sendDeadline := act.Deadline
	if sendDeadline.IsZero() {
		sendDeadline = res.Start.Add(spec.Timeout)
	}
	msg, err := encodeRun(act, sendDeadline)
	if err != nil {
		res.Status, res.Response, res.Logs, res.End = InternalError, errorResponse(err.Error()), []string{}, time.Now()
		return res, true
	}
	if n := pr.drainStale(); n > 0 {
		pr.broken = true // the action answers out of turn: serve this run, then retire it
	}

	results := pr.results
	var line resultLine
	got := false
	status, response, devLogs := Status(""), json.RawMessage(nil), false

	// Write the activation, bounded by the time limit and by ctx.
	_ = pr.stdin.SetWriteDeadline(limitAt)
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(interrupted)
		_ = pr.stdin.SetWriteDeadline(time.Unix(1, 0))
	})
	_, werr := pr.stdin.Write(msg)
	if !stop() {
		<-interrupted // let it finish before the deadline is cleared
	}
	_ = pr.stdin.SetWriteDeadline(time.Time{})
	if werr != nil {
		// Either the deadline passed, ctx ended, or the process is gone: the
		// select below tells which; a dead process shows up as exited.
		results = nil
	}

	timer := time.NewTimer(time.Until(limitAt))
	defer timer.Stop()
wait:
	for {
		select {
		case l, ok := <-results:
			if !ok {
				results = nil // fd 3 ended: the process is exiting
				continue
			}
			line, got = l, true
			break wait
		case <-pr.exited:
			if results != nil {
				grace := time.NewTimer(exitGrace)
				select {
				case l, ok := <-results:
					line, got = l, ok
				case <-grace.C:
				}
				grace.Stop()
			}
			if got {
				break wait
			}
			select {
			case <-closed:
				status, response = InternalError, errorResponse(msgRunnerClosed)
			default:
				status, response, devLogs = DeveloperError, errorResponse(msgExited), true
			}
			break wait
		case <-timer.C:
			pr.kill()
			status, response, devLogs = DeveloperError, errorResponse(msgTimeout(spec.Timeout, false)), true
			res.TimedOut = true
			break wait
		case <-ctx.Done():
			pr.kill()
			status, response = InternalError, errorResponse(msgActivationStop+": "+ctx.Err().Error()+".")
			break wait
		case <-closed:
			pr.kill()
			status, response = InternalError, errorResponse(msgRunnerClosed)
			break wait
		}
	}
	res.End = time.Now()
	if got {
		status, response = classify(line)
		devLogs = status == DeveloperError
		keep = status != DeveloperError && !pr.hasExited()
	}
	res.Status, res.Response = status, response
	res.Logs = pr.endLogs(spec.LogMax, "", devLogs)
	return res, keep && !pr.broken
}

// drainStale discards lines the action wrote on fd 3 while no activation was
// running, so that they are not taken for the next result, and returns how
// many it dropped.
func (pr *proc) drainStale() int {
	n := 0
	for {
		select {
		case _, ok := <-pr.results:
			if !ok {
				return n
			}
			n++
		default:
			return n
		}
	}
}
