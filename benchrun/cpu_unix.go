//go:build unix

package benchrun

import (
	"syscall"
	"time"
)

// hostNote is empty where the host's own CPU time can be read.
const hostNote = ""

// hostCPU returns the CPU time (user and system, all threads) this
// process has used, from getrusage(RUSAGE_SELF).
func hostCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
