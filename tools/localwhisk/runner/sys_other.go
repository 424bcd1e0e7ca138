//go:build !unix

package runner

import "os/exec"

func isolate(*exec.Cmd) {}

// killGroup kills the process only: other systems have no process groups here.
func killGroup(cmd *exec.Cmd, _ int) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
