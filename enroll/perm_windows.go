package enroll

import (
	"fmt"
	"os"
)

// checkDir checks that dir is a directory. Windows keeps access rights in
// ACLs, which plugctl leaves to the user's profile: the default registry
// lives in %AppData%, private to the user.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("registry %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("registry %s is not a directory", dir)
	}
	return nil
}

// checkFile refuses an entry that is not a plain file.
func checkFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file (%s)", path, fi.Mode().Type())
	}
	return nil
}

// CheckBinary checks that path exists; access is left to Windows ACLs.
func CheckBinary(path string) error {
	_, err := os.Stat(path)
	return err
}
