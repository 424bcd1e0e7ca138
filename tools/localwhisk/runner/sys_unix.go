//go:build unix

package runner

import (
	"os/exec"
	"syscall"
)

// isolate puts the child in a process group of its own, so that killing the
// group also ends whatever the action started.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup sends SIGKILL to the process group led by pid. The caller makes
// sure pid has not been reaped yet, so the group id cannot have been reused.
func killGroup(cmd *exec.Cmd, pid int) {
	if pid <= 1 {
		return
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
