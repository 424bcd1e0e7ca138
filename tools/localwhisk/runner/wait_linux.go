package runner

import (
	"syscall"
	"unsafe"
)

// waitExited blocks until the process pid has exited, without reaping it, so
// that its process group can still be killed safely. It reports whether it
// could wait (false means the caller must rely on reaping alone).
func waitExited(pid int) bool {
	const pPID = 1 // idtype_t P_PID
	var info [128]byte
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch errno {
		case 0:
			return true
		case syscall.EINTR:
			continue
		default:
			return false
		}
	}
}
