//go:build !unix

package host

import (
	"io"
	"syscall"
)

// nonblocking gives no connection here: every frame goes through the
// writer's goroutine, and tryWrite is never called.
func nonblocking(io.Writer) syscall.Conn { return nil }

func tryWrite(syscall.Conn, []byte) (int, bool) { return 0, false }
