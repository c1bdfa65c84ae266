package supervisor

import (
	"fmt"
	"os"
)

// private refuses a state directory, state file or output that others
// may write: the host resumes from what they hold, so whoever can write
// them can make it skip or repeat events, as the registry's permissions
// decide which plugins run. The owner must be the user running the host
// or root; Windows has no such mode bits or owners to read.
func private(path string, fi os.FileInfo) error {
	if noModeBits {
		return nil
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by others (mode %s): anyone who can write it can make the host skip or repeat events (chmod go-w %s)", path, fi.Mode().Perm(), path)
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() && uid != 0 {
		return fmt.Errorf("%s is owned by uid %d, not by you or root: its owner can make the host skip or repeat events (chown %d %s)", path, uid, os.Geteuid(), path)
	}
	return nil
}
