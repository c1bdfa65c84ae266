//go:build !linux

package bench

import (
	"errors"
	"os"
	"time"
)

// growPipe does nothing where pipe capacity cannot be set.
func growPipe(*os.File) {}

// processCPU is not implemented outside Linux: no CPU metrics there.
func processCPU(int) (time.Duration, error) {
	return 0, errors.New("process CPU time is read from /proc on Linux only")
}
