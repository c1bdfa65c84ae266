//go:build unix

package sign

import (
	"fmt"
	"io/fs"
)

// checkKeyPerm refuses a private key file that others could read or
// replace, as ssh does: such a key may already be compromised, and saying
// so early beats signing with it.
func checkKeyPerm(path string, mode fs.FileMode) error {
	if perm := mode.Perm(); perm&0o077 != 0 {
		return fmt.Errorf("permissions %04o for %s are too open; run chmod 600 %s", perm, path, path)
	}
	return nil
}
