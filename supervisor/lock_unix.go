//go:build unix

package supervisor

import (
	"errors"
	"os"
	"syscall"
)

// lockPath takes an exclusive lock on the file at path, or fails at once
// when another process holds it. The kernel drops it if the holder dies.
func lockPath(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// lockFile takes an exclusive lock on f, held until f is closed.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errors.New("in use by another plugctl host")
		case err != syscall.EINTR:
			return err
		}
	}
}
