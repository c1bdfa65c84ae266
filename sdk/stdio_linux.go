package sdk

import "syscall"

// dupTo makes newfd refer to what oldfd refers to. Dup2 does not exist on
// every Linux architecture; Dup3 does.
func dupTo(oldfd, newfd int) error { return syscall.Dup3(oldfd, newfd, 0) }

// growPipe raises the capacity of the pipe behind fd to 1 MiB, so that
// several batches fit in it while the reader catches up, and returns the
// capacity it got. Best effort: fd may not be a pipe (0), or the system
// limit may be lower.
func growPipe(fd int) int {
	const setPipeSize = 1031 // F_SETPIPE_SZ
	n, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), setPipeSize, 1<<20)
	if errno != 0 {
		return 0
	}
	return int(n)
}
