//go:build unix

package enroll_test

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

// lockIsHeld reports whether another open file holds the flock on path;
// ok is false where it cannot tell.
func lockIsHeld(t *testing.T, path string) (held, ok bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false, true // closing f drops the lock just taken
}
