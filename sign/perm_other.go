//go:build !unix

package sign

import "io/fs"

// checkKeyPerm accepts any key file: outside Unix, access is governed by
// ACLs that Go's mode bits do not reflect (Windows reports 0666 for every
// writable file), so a mode check would refuse every key.
func checkKeyPerm(path string, mode fs.FileMode) error {
	return nil
}
