package enroll

import (
	"fmt"
	"io/fs"
)

// PermissionError refuses a registry directory or entry that someone other
// than its owner could change.
type PermissionError struct {
	What  string // "registry DIR" or the entry's path
	Path  string
	Mode  fs.FileMode
	Owner int    // the owning uid when that is the problem; else 0
	Fix   string // the command that fixes it
}

func (e *PermissionError) Error() string {
	if e.Owner != 0 {
		return fmt.Sprintf("%s is owned by uid %d, not by you or root: its owner decides which plugins run (%s)", e.What, e.Owner, e.Fix)
	}
	return fmt.Sprintf("%s is writable by others (mode %s): anyone who can write it decides which plugins run (%s)", e.What, e.Mode.Perm(), e.Fix)
}
