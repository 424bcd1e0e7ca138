package service

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	// Pdeathsig: the kernel kills the server when the thread that started it
	// ends; children are started from a thread that lives as long as the
	// program (see startOnLockedThread).
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// procStat returns the fields of /proc/<pid>/stat after the command name:
// [0] state, [1] ppid, [2] pgrp, …, [19] starttime.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, ErrNotRunning
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("read /proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return nil, fmt.Errorf("read /proc/%d/stat: unexpected format", pid)
	}
	return fields, nil
}

// processIdentity returns the start time of a live (not zombie) process.
func processIdentity(pid int) (string, error) {
	f, err := procStat(pid)
	if err != nil {
		return "", err
	}
	if f[0] == "Z" || f[0] == "X" {
		return "", ErrNotRunning
	}
	return "start:" + f[19], nil
}

// groupAlive reports whether a live (not zombie) process is in group pgid.
func groupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return syscall.Kill(-pgid, 0) == nil
	}
	want := strconv.Itoa(pgid)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := procStat(pid)
		if err != nil {
			continue
		}
		if f[2] == want && f[0] != "Z" && f[0] != "X" {
			return true
		}
	}
	return false
}
