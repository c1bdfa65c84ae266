//go:build !linux

package bench

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// growPipe does nothing where pipe capacity cannot be set.
func growPipe(*os.File) {}

// processCPU is not implemented outside Linux: no CPU metrics there.
func processCPU(int) (time.Duration, error) {
	return 0, errors.New("process CPU time is read from /proc on Linux only")
}

// startRawRing skips: shared rings need Linux.
func startRawRing(tb testing.TB, size int) (io.Reader, int) {
	tb.Skip("shared rings need Linux")
	return nil, 0
}

// loneRing skips: shared rings need Linux.
func loneRing(tb testing.TB, futex bool, poll time.Duration) io.Reader {
	tb.Skip("shared rings need Linux")
	return nil
}

// processRunTime is not implemented outside Linux.
func processRunTime(int) (time.Duration, error) {
	return 0, errors.New("thread run times are read from /proc on Linux only")
}

// peakRSS is not implemented outside Linux.
func peakRSS(int) (int64, error) {
	return 0, errors.New("peak resident memory is read from /proc on Linux only")
}
