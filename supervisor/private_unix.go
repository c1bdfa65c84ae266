//go:build unix

package supervisor

import (
	"os"
	"syscall"
)

const noModeBits = false

// fileOwner returns the uid owning the file fi describes.
func fileOwner(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
