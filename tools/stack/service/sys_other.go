//go:build unix && !linux

package service

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true}
}

// processIdentity returns the start time of a live (not zombie) process.
func processIdentity(pid int) (string, error) {
	out, err := exec.Command("ps", "-o", "stat=", "-o", "lstart=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return "", ErrNotRunning
	}
	stat, start, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if stat == "" || strings.HasPrefix(stat, "Z") {
		return "", ErrNotRunning
	}
	return "start:" + strings.TrimSpace(start), nil
}

func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }
