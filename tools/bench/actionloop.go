package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ack is the line an action writes on fd 3 once it is ready.
const ack = `{"ok":true}`

// actionProc is an action binary run as the actionloop proxy runs it: stdin
// for activations, fd 3 for the ack and the results, stdout and stderr to a
// log.
type actionProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	resR    *os.File
	results *bufio.Reader
	ready   time.Duration // from just before the process start to the ack read
}

// startAction starts exe with env and waits at most timeout for its ack.
func startAction(exe string, env []string, log *os.File, timeout time.Duration) (*actionProc, error) {
	resR, resW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	cmd := exec.Command(exe)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = log, log
	cmd.ExtraFiles = []*os.File{resW} // fd 3
	stdin, err := cmd.StdinPipe()
	if err != nil {
		resR.Close()
		resW.Close()
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		resR.Close()
		resW.Close()
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	resW.Close() // the child holds its own
	p := &actionProc{cmd: cmd, stdin: stdin, resR: resR, results: bufio.NewReaderSize(resR, 1<<20)}
	line, err := p.readLine(timeout)
	p.ready = time.Since(start)
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("start %s: read the ack: %w", exe, err)
	}
	if string(line) != ack {
		p.kill()
		return nil, fmt.Errorf("start %s: expected the ack %s on fd 3, got %.200q", exe, ack, line)
	}
	return p, nil
}

func (p *actionProc) readLine(timeout time.Duration) ([]byte, error) {
	_ = p.resR.SetReadDeadline(time.Now().Add(timeout))
	line, err := p.results.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(line, "\n"), nil
}

// invoke sends one activation and returns its result line. params are the
// activation's value; meta the other top-level fields (action_name,
// api_host, …); the deadline is now + timeout.
func (p *actionProc) invoke(params any, meta map[string]string, timeout time.Duration) (json.RawMessage, error) {
	in := map[string]any{"value": params, "deadline": strconv.FormatInt(time.Now().Add(timeout).UnixMilli(), 10)}
	for k, v := range meta {
		in[k] = v
	}
	line, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode activation: %w", err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("send activation: %w", err)
	}
	res, err := p.readLine(timeout + 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	return res, nil
}

// memory returns VmHWM (peak resident set) and VmRSS of the process, in
// bytes, from /proc.
func (p *actionProc) memory() (peak, rss int64, err error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "status"))
	if err != nil {
		return 0, 0, fmt.Errorf("read process status: %w", err)
	}
	return statusKB(string(b), "VmHWM") * 1024, statusKB(string(b), "VmRSS") * 1024, nil
}

// statusKB reads a "Name:   123 kB" field of /proc/<pid>/status.
func statusKB(status, name string) int64 {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// close ends the process as the proxy does: stdin closed, then a kill if it
// does not exit within 5 seconds.
func (p *actionProc) close() error {
	_ = p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		err = <-done
	}
	p.resR.Close()
	return err
}

func (p *actionProc) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.resR.Close()
}

// unzipExec extracts the exec of an action zip to dir/name and returns its
// path.
func unzipExec(zipPath, dir string) (string, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", zipPath, err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != "exec" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", fmt.Errorf("read exec of %s: %w", zipPath, err)
		}
		defer rc.Close()
		name := strings.TrimSuffix(filepath.Base(zipPath), ".zip")
		dst := filepath.Join(dir, name)
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
		if err != nil {
			return "", err
		}
		if _, err := io.Copy(out, rc); err != nil {
			out.Close()
			return "", fmt.Errorf("extract exec of %s: %w", zipPath, err)
		}
		if err := out.Close(); err != nil {
			return "", err
		}
		return dst, nil
	}
	return "", errors.New("no exec in " + zipPath)
}

// actionEnv is the environment the runner gives a fresh action process.
func actionEnv() []string {
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin", "__OW_WAIT_FOR_ACK=1", "__OW_EXECUTION_ENV=openwhisk/action-golang-v1.24"}
}
