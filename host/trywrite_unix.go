//go:build unix

package host

import (
	"errors"
	"syscall"
)

// tryWrite makes one attempt to write b to c, without waiting for room,
// and reports how much it wrote; ok is false when it wrote nothing,
// because c had no room or the write failed.
func tryWrite(c syscall.Conn, b []byte) (n int, ok bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if !errors.Is(werr, syscall.EINTR) {
				return true // done either way: never wait for room
			}
		}
	})
	return n, err == nil && werr == nil && n > 0
}
