//go:build !unix

package host

import (
	"io"
	"syscall"
)

// nonblocking gives no descriptor here: every frame goes through the
// writer's goroutine, and tryWrite is never called.
func nonblocking(io.Writer) syscall.RawConn { return nil }

func tryWrite(syscall.RawConn, []byte) (int, bool) { return 0, false }
