//go:build !unix

package benchrun

import (
	"errors"
	"time"
)

// hostNote says why the host's CPU time is not measured.
const hostNote = "n/a: read with getrusage, which this system lacks"

func hostCPU() (time.Duration, error) { return 0, errors.New(hostNote) }
