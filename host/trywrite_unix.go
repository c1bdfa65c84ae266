//go:build unix

package host

import (
	"errors"
	"io"
	"syscall"

	"golang.org/x/sys/unix"
)

// nonblocking returns the descriptor of w to try writes on, if w is a file
// or socket whose descriptor does not block. On a blocking descriptor a
// write waits for room however it is asked, so it gets none.
func nonblocking(w io.Writer) syscall.RawConn {
	c, ok := w.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	flags, ferr := 0, error(nil)
	if err := rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil || ferr != nil || flags&unix.O_NONBLOCK == 0 {
		return nil
	}
	return rc
}

// tryWrite makes one attempt to write b to rc, a descriptor nonblocking
// returned, and reports how much it wrote; ok is false when it wrote
// nothing, because rc had no room or the write failed.
func tryWrite(rc syscall.RawConn, b []byte) (n int, ok bool) {
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Write(int(fd), b)
			if !errors.Is(werr, unix.EINTR) {
				return true // done either way: never wait for room
			}
		}
	})
	return n, err == nil && werr == nil && n > 0
}
