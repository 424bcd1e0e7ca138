package service

import (
	"os/exec"
	"runtime"
	"sync"
)

// The kernel's parent-death signal is tied to the thread that forked the
// child, and the Go runtime ends a thread when a goroutine locked to it
// returns. Non-detached children are therefore started from one goroutine
// that stays locked to its thread for the life of the program.
var (
	starterOnce sync.Once
	starter     chan func()
)

func startOnLockedThread(cmd *exec.Cmd) error {
	starterOnce.Do(func() {
		starter = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives until exit
			for fn := range starter {
				fn()
			}
		}()
	})
	errc := make(chan error, 1)
	starter <- func() { errc <- cmd.Start() }
	return <-errc
}
