//go:build unix && !linux && !solaris

package sdk

import "syscall"

// dupTo makes newfd refer to what oldfd refers to.
func dupTo(oldfd, newfd int) error { return syscall.Dup2(oldfd, newfd) }

// growPipe does nothing: only Linux can resize a pipe. The capacity is
// unknown, so it returns 0.
func growPipe(int) int { return 0 }
