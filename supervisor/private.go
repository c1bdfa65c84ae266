package supervisor

import (
	"fmt"
	"os"
	"runtime"
)

// private refuses a state directory, state file or output that others
// may write: the host resumes from what they hold, so whoever can write
// them can make it skip or repeat events, as the registry's permissions
// decide which plugins run. Windows has no such mode bits to read.
func private(path string, fi os.FileInfo) error {
	if runtime.GOOS == "windows" || fi.Mode().Perm()&0o022 == 0 {
		return nil
	}
	return fmt.Errorf("%s is writable by others (mode %s): anyone who can write it can make the host skip or repeat events (chmod go-w %s)", path, fi.Mode().Perm(), path)
}
