//go:build unix

package enroll

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// checkDir refuses a registry directory that anyone but its owner (the
// user running plugctl, or root) can write: they could enroll any binary.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("registry %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("registry %s is not a directory", dir)
	}
	return checkOwner("registry "+dir, dir, fi)
}

// checkFile refuses an entry that is not a plain file or that others can
// write.
func checkFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file (%s); an entry may not be a link to a file elsewhere", path, fi.Mode().Type())
	}
	return checkOwner(path, path, fi)
}

func checkOwner(what, path string, fi fs.FileInfo) error {
	if m := fi.Mode().Perm(); m&0o022 != 0 {
		return &PermissionError{What: what, Path: path, Mode: fi.Mode(),
			Fix: "chmod go-w " + path}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := uint32(os.Geteuid()); st.Uid != uid && st.Uid != 0 {
			return &PermissionError{What: what, Path: path, Mode: fi.Mode(), Owner: int(st.Uid),
				Fix: fmt.Sprintf("chown %d %s", uid, path)}
		}
	}
	return nil
}

// CheckBinary refuses a binary that someone other than its owner (you or
// root) could change: the file itself, or its directory, where another
// file could be renamed over it (a sticky directory such as /tmp lets no
// one rename another's file).
func CheckBinary(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := checkOwner("binary "+path, path, fi); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if di.Mode()&os.ModeSticky != 0 {
		di = stickyView{di}
	}
	return checkOwner("the directory of binary "+path, dir, di)
}

// stickyView hides the write bits of a sticky directory, which let others
// add files but not replace this one.
type stickyView struct{ fs.FileInfo }

func (s stickyView) Mode() fs.FileMode { return s.FileInfo.Mode() &^ 0o022 }
